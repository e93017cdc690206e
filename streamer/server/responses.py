"""JSON error bodies: every refusal says why, in the same shape."""
from __future__ import annotations

from pathlib import Path

from aiohttp import web


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


def file_response(request: web.Request, path: Path, headers: dict[str, str]) -> web.StreamResponse:
    """A file, range requests included; a Range header that is malformed or starts past the end gets a JSON 416
    (aiohttp's own 416 carries the file's type and no body)."""
    st = path.stat()
    size = st.st_size
    failed = _precondition_failed(request, st)
    if failed:
        return error(412, failed)
    try:
        wanted = request.http_range
    except ValueError:
        return _unsatisfiable(size, "the Range header is malformed")
    if wanted.start is not None and wanted.start >= size > 0:
        return _unsatisfiable(size, f"the Range starts past the end of the file ({size} bytes)")
    return web.FileResponse(path, headers=headers)


def _unsatisfiable(size: int, message: str) -> web.Response:
    response = error(416, message)
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


def _precondition_failed(request: web.Request, st) -> str | None:
    """Why If-Match / If-Unmodified-Since fail for this file (aiohttp's own 412 has no body), or None."""
    etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"  # aiohttp's FileResponse ETag
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match.strip() != "*" and etag not in if_match:
        return "If-Match does not match the file's ETag"
    since = request.if_unmodified_since
    if since is not None and st.st_mtime > since.timestamp():
        return "the file was modified after If-Unmodified-Since"
    return None
