"""Receiving a video or a photo: streamed to disk under the data directory, size-limited, probed by content."""
from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from ..media.images import ImageTooLarge
from ..files.scan import probe_media
from ..media.video import MediaError, VideoInfo

CHUNK = 1 << 20
DISK_CHECK_EVERY = 64 * CHUNK
# one parameter of a Content-Disposition header: name=token or name="quoted \"string\"" (';' allowed inside)
PARAM = re.compile(r';\s*([A-Za-z0-9_*\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class UploadError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def new_scan_id() -> str:
    return secrets.token_hex(8)


def display_name(filename: str | None) -> str:
    """A harmless label for the user's file name (any characters but control ones): never used as a path."""
    name = Path(unquote(filename or "upload").replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable()).strip(" .") or "upload"
    return name[:120]


def disposition(header: str) -> dict[str, str]:
    """The parameters of a multipart part's Content-Disposition, tolerant of ';' and '=' in quoted file names
    (which aiohttp's own parser rejects); ``filename*`` (RFC 5987) wins over ``filename``."""
    params: dict[str, str] = {}
    for key, raw in PARAM.findall(";" + header.split(";", 1)[1] if ";" in header else ""):
        value = raw.strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key.lower()] = value
    if "filename*" in params:
        charset, _, encoded = params["filename*"].partition("''")
        try:
            params["filename"] = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    return params


async def receive_upload(request: web.Request, dest: Path, max_bytes: int,
                         check_disk: Callable[[int], None] = lambda _more: None) -> str:
    """Stream the multipart field ``file`` to ``dest``; returns the user's file name (for display).
    ``check_disk(bytes_still_expected)`` raises to stop an upload that would fill the disk."""
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise UploadError(413, f"the upload is larger than the {max_bytes} byte limit")
    check_disk(request.content_length or 0)
    try:
        reader = await request.multipart()
        part = await reader.next()
        params = disposition(part.headers.get("Content-Disposition", "")) if isinstance(part, BodyPartReader) else {}
        while part is not None and (not isinstance(part, BodyPartReader) or params.get("name") != "file"):
            part = await reader.next()
            params = disposition(part.headers.get("Content-Disposition", "")) \
                if isinstance(part, BodyPartReader) else {}
    except (ValueError, AssertionError, KeyError) as exc:
        raise UploadError(400, f"malformed multipart body: {exc}") from exc
    if part is None:
        raise UploadError(400, "the form has no 'file' field")
    name = display_name(params.get("filename"))
    size = 0
    tmp = dest.with_suffix(".part")
    try:
        with open(tmp, "wb") as fh:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(413, f"the upload is larger than the {max_bytes} byte limit")
                if size // DISK_CHECK_EVERY != (size - len(chunk)) // DISK_CHECK_EVERY:
                    check_disk(0)
                await asyncio.to_thread(fh.write, chunk)
        if size == 0:
            raise UploadError(400, "the uploaded file is empty")
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return name


def resolve_media_path(media_dir: Path | None, requested: object) -> Path:
    """A file inside the server's allowed media folder, or UploadError."""
    if media_dir is None:
        raise UploadError(403, "scanning server-side paths is disabled (start the server with --media-dir)")
    if not isinstance(requested, str) or not requested or len(requested) > 1024 or "\0" in requested:
        raise UploadError(400, "'path' must be a non-empty string")
    root = media_dir.resolve()
    path = (root / requested).resolve()
    if not path.is_relative_to(root):
        raise UploadError(403, "'path' must stay inside the media folder")
    if not path.is_file():
        raise UploadError(404, f"no file {requested!r} in the media folder")
    return path


async def check_video(path: Path) -> VideoInfo:
    """A video or a photo, probed by content; a photo too large to decode is refused with 413."""
    try:
        return await asyncio.to_thread(probe_media, path)
    except MediaError as exc:
        status = 413 if isinstance(exc, ImageTooLarge) else 400
        raise UploadError(status, str(exc).replace(str(path), Path(path).name)) from exc
