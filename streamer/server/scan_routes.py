"""HTTP API of file scans (videos and photos): upload or server-side path, status, live progress, exports, media."""
from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import re
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from ..files import timeline as timeline_io
from .events import stream_events
from .keys import CFG_KEY, HUB_KEY, LIMITER_KEY, REPORTS_KEY, SCANS_KEY, STORE_KEY, UPLOADS_KEY
from .limits import Full, check_disk
from .reports import Build
from .responses import error
from .scans import ScanQueueFull
from .uploads import UploadError, check_video, new_scan_id, receive_upload, resolve_media_path


log = logging.getLogger(__name__)
SCAN_ID = re.compile(r"^[0-9a-f]{16}$")
VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "matroska": "video/x-matroska"}


async def create_scan(request: web.Request) -> web.Response:
    cfg, scans = request.app[CFG_KEY], request.app[SCANS_KEY]
    try:
        scans.reserve()  # the queue slot is held from now on, so concurrent uploads cannot overbook it
    except ScanQueueFull as exc:
        return error(429, str(exc))
    try:
        return await _create_scan(request, cfg, scans)
    finally:
        scans.release()  # a submitted scan now counts as pending: the slot never was free in between


async def _create_scan(request: web.Request, cfg, scans) -> web.Response:
    scan_id = new_scan_id()
    upload = scans.upload_dir / scan_id
    uploads = request.app[UPLOADS_KEY]
    taken = False
    try:
        if request.content_type == "application/json":
            path, filename = await _server_path(request, cfg.media_dir)
        elif request.content_type == "multipart/form-data":
            uploads.take()
            taken = True
            filename = await receive_upload(request, upload, cfg.max_upload_bytes,
                                            lambda more: _disk(scans.upload_dir, cfg.min_free_bytes, more))
            path = upload
        else:
            raise UploadError(415, "send multipart/form-data with a 'file' field, or JSON {\"path\": ...}")
        info = await check_video(path)
    except Full as exc:
        return error(429, str(exc))
    except UploadError as exc:
        upload.unlink(missing_ok=True)
        return error(exc.status, exc.message.replace(scan_id, "the upload"))
    finally:
        if taken:
            uploads.give()
    await scans.submit(scan_id, filename, path, asdict(info))
    return web.json_response({"id": scan_id, "status": "queued", "filename": filename, "info": asdict(info)},
                             status=202, headers={"Location": f"/api/scans/{scan_id}"})


def _disk(folder: Path, floor: int, more: int) -> None:
    try:
        check_disk(folder, floor, more)
    except Full as exc:
        raise UploadError(507, str(exc)) from exc


async def _server_path(request: web.Request, media_dir: Path | None) -> tuple[Path, str]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UploadError(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or set(body) - {"path"}:
        raise UploadError(400, "expected a JSON object {\"path\": \"file inside the media folder\"}")
    path = resolve_media_path(media_dir, body.get("path"))
    return path, path.name


async def _scan_or_404(request: web.Request, with_timeline: bool = False) -> dict:
    scan_id = request.match_info["id"]
    row = await request.app[STORE_KEY].scan(scan_id, with_timeline) if SCAN_ID.match(scan_id) else None
    if row is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "no such scan", "status": 404}),
                               content_type="application/json")
    return row


def public(row: dict) -> dict:
    """A scan as the API shows it: the server-side path stays private."""
    return {k: v for k, v in row.items() if k != "path"}


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"'{name}' must be an integer from {low} to {high}",
                                                  "status": 400}), content_type="application/json")
    return int(raw)


async def list_scans(request: web.Request) -> web.Response:
    """Newest first, ``?limit=&offset=`` pages, ``?q=`` a part of the file name."""
    limit = _int_query(request, "limit", 50, 1, 500)
    offset = _int_query(request, "offset", 0, 0, 10**9)
    query = request.query.get("q", "")[:200]
    store = request.app[STORE_KEY]
    rows, total = await store.scans(limit, offset, query), await store.count_scans(query)
    return web.json_response({"scans": [public(r) for r in rows], "total": total, "limit": limit, "offset": offset})


async def delete_scan(request: web.Request) -> web.Response:
    """Stops the scan if it is still going; removes its row, timeline and uploaded file."""
    scan_id = request.match_info["id"]
    row = await request.app[SCANS_KEY].delete(scan_id) if SCAN_ID.match(scan_id) else None
    if row is None:
        return error(404, "no such scan")
    return web.json_response({"deleted": scan_id})


async def get_scan(request: web.Request) -> web.Response:
    response = web.json_response(public(await _scan_or_404(request, with_timeline=True)))
    response.enable_compression()  # a timeline is ~7 KB per second of one face, and compresses ~10x
    return response


async def scan_events(request: web.Request) -> web.StreamResponse:
    row = await _scan_or_404(request)
    return await stream_events(request, request.app[HUB_KEY], lambda e: e.get("id") == row["id"],
                               last=lambda e: e.get("status") in ("done", "failed", "deleted"),
                               initial=[{"type": "scan", "id": row["id"], "status": row["status"],
                                         "progress": row["progress"], "error": row["error"]}])


def not_ready(row: dict, what: str) -> str:
    """Why a scan has no timeline or report (yet)."""
    if row["status"] == "failed":
        return f"the scan failed, so it has no {what}" + (f" ({row['error']})" if row.get("error") else "")
    return f"the scan is still {row['status']}; its {what} is not ready yet"


async def export_timeline(request: web.Request) -> web.Response:
    row = await _scan_or_404(request, with_timeline=True)
    if not row["timeline"]:
        return error(409, not_ready(row, "timeline"))
    stem = Path(row["filename"]).stem or "scan"
    if request.match_info["fmt"] == "json":
        response = web.json_response(row["timeline"], headers={
            "Content-Disposition": attachment(f"{stem}.timeline.json")})
        response.enable_compression()
        return response
    out = io.StringIO()
    timeline_io.write_csv_to(out, [row["timeline"]])
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": attachment(f"{stem}.timeline.csv")})


def attachment(filename: str) -> str:
    """A Content-Disposition for any file name: an ASCII fallback and the exact name (RFC 6266)."""
    fallback = re.sub(r'[^A-Za-z0-9._ -]', "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def scan_video(request: web.Request) -> web.StreamResponse:
    row = await _scan_or_404(request)
    path = Path(row["path"])
    if not path.is_file():
        return error(410, "the video of this scan is no longer on the server")
    container = (row["info"] or {}).get("format", "")
    kind = container if container.startswith("image/") else \
        next((t for k, t in VIDEO_TYPES.items() if k in container), "video/mp4")
    return web.FileResponse(path, headers={"Content-Type": kind})


REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


async def scan_report(request: web.Request) -> web.Response:
    """The self-contained HTML report of a finished scan (see streamer/files/report.py), built once and cached until
    the scan changes. A request that starts a build counts against the client's rate limit. Without
    ``?progress``, it waits for the page; with it (the replay page's link), while the report is being built
    it gets a page that shows how far the build is and reloads itself."""
    row = await _scan_or_404(request)
    if row["status"] != "done":
        return error(409, not_ready(row, "report"))
    reports = request.app[REPORTS_KEY]
    page = reports.cached(row)
    if page is None:
        build = reports.building(row)
        if build is None:
            refused = request.app[LIMITER_KEY].check(request, "report builds")
            if refused is not None:
                return refused
            row = await _scan_or_404(request, with_timeline=True)
            build = reports.build(row)
        if "progress" in request.query and not build.task.done():
            return _building_page(row["filename"], build)
        try:
            page = await asyncio.shield(build.task)  # a client that leaves does not stop the build
        except Exception as exc:
            log.exception("report of scan %s failed", row["id"])
            return error(500, f"the report could not be built: {type(exc).__name__}")
    stem = Path(row["filename"]).stem or "scan"
    return web.Response(text=page, content_type="text/html", headers={
        "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{stem}.report.html"'})


def _building_page(filename: str, build: Build) -> web.Response:
    percent = round(build.progress * 100)
    name = html.escape(filename)
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="1">'
            f"<title>Building the report · {name}</title><style>body{{font:15px/1.5 system-ui,sans-serif;"
            "max-width:640px;margin:48px auto;padding:0 16px}progress{width:100%;height:18px}</style></head><body>"
            f"<h1>Building the report of {name}</h1>"
            f'<progress max="100" value="{percent}">{percent} %</progress>'
            f"<p>{percent} % · {html.escape(build.stage)}. This page reloads itself and shows the report when it is "
            "ready; it is kept, so opening it again is instant.</p></body></html>")
    return web.Response(status=202, text=page, content_type="text/html", headers={
        "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def add_scan_routes(app: web.Application) -> None:
    app.router.add_post("/api/scans", create_scan)
    app.router.add_get("/api/scans", list_scans)
    app.router.add_get("/api/scans/{id}", get_scan)
    app.router.add_delete("/api/scans/{id}", delete_scan)
    app.router.add_get("/api/scans/{id}/events", scan_events)
    app.router.add_get("/api/scans/{id}/timeline.{fmt:json|csv}", export_timeline)
    app.router.add_get("/api/scans/{id}/video", scan_video)
    app.router.add_get("/api/scans/{id}/report.html", scan_report)
