"""Receiving a video or a photo: streamed to disk under the data directory, size-limited, probed by content."""
from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from ..images import ImageTooLarge
from ..scan import probe_media
from ..sources import MediaError, VideoInfo

CHUNK = 1 << 20


class UploadError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def new_scan_id() -> str:
    return secrets.token_hex(8)


def display_name(filename: str | None) -> str:
    """A harmless label for the user's file name: never used as a path."""
    name = Path(unquote(filename or "upload").replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "upload"
    return name[:120]


async def receive_upload(request: web.Request, dest: Path, max_bytes: int) -> str:
    """Stream the multipart field ``file`` to ``dest``; returns the user's file name (for display)."""
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise UploadError(413, f"the upload is larger than the {max_bytes} byte limit")
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
            part = await reader.next()
    except (ValueError, AssertionError, KeyError) as exc:
        raise UploadError(400, f"malformed multipart body: {exc}") from exc
    if part is None:
        raise UploadError(400, "the form has no 'file' field")
    name = display_name(part.filename)
    size = 0
    tmp = dest.with_suffix(".part")
    try:
        with open(tmp, "wb") as fh:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(413, f"the upload is larger than the {max_bytes} byte limit")
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
