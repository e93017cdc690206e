"""HTTP API of RTSP monitoring: add, list and remove streams; alerts and their snapshots; live events."""
from __future__ import annotations

import json
import math
import time
import unicodedata

from aiohttp import web

from ..live.manager import MonitorError
from ..live.supervisor import StreamConfig
from ..live.urls import UrlError, check_url, install_log_redaction, redact_value
from ..runtime.netpolicy import PolicyError, check_url_host_async
from .events import stream_events
from .keys import CFG_KEY, HUB_KEY, MONITOR_KEY, STORE_KEY, THUMBNAILS_KEY, WHIP_KEY
from .responses import error
from .thumbnails import thumbnail_url
from ..live.whip import WhipStream

NAME_PUNCTUATION = set(" _.-'()#&+,:@")


def clean_name(name: object) -> str:
    """A stream name: 1-64 letters (any script), digits, spaces and a little punctuation; NFC, trimmed."""
    if not isinstance(name, str):
        raise BodyError("'name' must be a string")
    name = " ".join(unicodedata.normalize("NFC", name).split())
    ok = name and len(name) <= 64 and (name[0].isalnum()) and all(
        c.isalnum() or c in NAME_PUNCTUATION or unicodedata.category(c) in ("Mn", "Mc") for c in name)
    if not ok:
        raise BodyError("'name' must be 1-64 letters, digits, spaces or . _ - ' ( ) # & + , : @, "
                        "starting with a letter or digit")
    return name


class BodyError(ValueError):
    pass


def _number(body: dict, key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BodyError(f"'{key}' must be a number")
    if not low <= value <= high:
        raise BodyError(f"'{key}' must be between {low:g} and {high:g}")
    return float(value)


def parse_stream(body: object, allow_http: bool, default_threshold: float) -> StreamConfig:
    if not isinstance(body, dict):
        raise BodyError("expected a JSON object with 'name' and 'url'")
    unknown = set(body) - {"name", "url", "fps", "threshold", "alert_seconds"}
    if unknown:
        raise BodyError(f"unknown fields: {', '.join(sorted(map(str, unknown)))}")
    name = clean_name(body.get("name"))
    url = body.get("url")
    try:
        url = check_url(url, allow_http)
    except UrlError as exc:
        raise BodyError(str(exc)) from exc
    return StreamConfig(name, url, fps=_number(body, "fps", 10.0, 0.2, 60.0),
                        threshold=_number(body, "threshold", default_threshold, 0.0, 1.0),
                        alert_seconds=_number(body, "alert_seconds", 2.0, 0.0, 3600.0), allow_http=allow_http)


async def add_stream(request: web.Request) -> web.Response:
    cfg, monitor = request.app[CFG_KEY], request.app[MONITOR_KEY]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "the body is not valid JSON")
    try:
        stream = parse_stream(body, cfg.allow_http_streams, monitor.model.manifest.threshold)
        await check_url_host_async(stream.url, cfg.stream_policy)
        stream.policy = cfg.stream_policy
        supervisor = monitor.add(stream)
    except (BodyError, PolicyError) as exc:
        return error(400, str(exc))
    except MonitorError as exc:
        return error(409, str(exc))
    return web.json_response(public(request.app, supervisor.snapshot()), status=201)


def public(app: web.Application, snapshot: dict) -> dict:
    """A stream as the API shows it: credentials in its URL (or errors) redacted, its thumbnail if any."""
    snapshot = redact_value(snapshot)
    if app[THUMBNAILS_KEY].has(snapshot["name"]):
        snapshot["thumbnail"] = thumbnail_url(snapshot["name"])
    return snapshot


async def list_streams(request: web.Request) -> web.Response:
    streams = [public(request.app, s) for s in request.app[MONITOR_KEY].snapshot()]
    return web.json_response({"streams": streams})


async def delete_stream(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    source = request.app[MONITOR_KEY].streams.get(name)
    try:
        if isinstance(source, WhipStream):  # the dashboard's Remove on a pushed stream ends the push
            await request.app[WHIP_KEY].close(source.id)
        else:
            await request.app[MONITOR_KEY].remove(name)
    except MonitorError as exc:
        return error(404, str(exc))
    request.app[THUMBNAILS_KEY].drop(request.match_info["name"])
    return web.json_response({"deleted": request.match_info["name"]})


async def restart_stream(request: web.Request) -> web.Response:
    """Connect a stream again from scratch (a failed one stays failed until asked): same settings, new counters."""
    monitor, name = request.app[MONITOR_KEY], request.match_info["name"]
    supervisor = monitor.streams.get(name)
    if supervisor is None:
        return error(404, f"no stream named {name!r}")
    if isinstance(supervisor, WhipStream):
        return error(409, f"{name!r} is pushed to this server (WHIP): only its sender can start it again")
    cfg = supervisor.cfg
    await monitor.remove(name)
    try:
        restarted = monitor.add(cfg)
    except MonitorError as exc:  # someone took the slot meanwhile
        return error(409, str(exc))
    return web.json_response(public(request.app, restarted.snapshot()))


async def list_alerts(request: web.Request) -> web.Response:
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return error(400, "'limit' must be an integer")
    if not 1 <= limit <= 1000:
        return error(400, "'limit' must be between 1 and 1000")
    stream = request.query.get("stream") or None
    return web.json_response({"alerts": await request.app[STORE_KEY].alerts(stream, limit)})


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) < 12  # "²".isdigit() is true, int("²") fails


async def alert_snapshot(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    data = await request.app[STORE_KEY].alert_snapshot(int(raw)) if _is_id(raw) else None
    if not data:
        return error(404, "no such alert snapshot")
    return web.Response(body=data, content_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


async def stream_thumbnail(request: web.Request) -> web.Response:
    latest = request.app[THUMBNAILS_KEY].get(request.match_info["name"])
    if latest is None:
        return error(404, "no thumbnail for this stream yet")
    data, taken = latest
    return web.Response(body=data, content_type="image/jpeg", headers={
        "Cache-Control": "no-store", "Last-Modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(taken)),
        "X-Thumbnail-Age": f"{max(0.0, time.time() - taken):.2f}"})
async def delete_alert(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not (_is_id(raw) and await request.app[STORE_KEY].delete_alert(int(raw))):
        return error(404, "no such alert")
    return web.json_response({"deleted": int(raw)})


async def monitor_events(request: web.Request) -> web.StreamResponse:
    return await stream_events(request, request.app[HUB_KEY], lambda e: e.get("type") in ("status", "result", "alert"),
                               transform=redact_value)


def add_stream_routes(app: web.Application) -> None:
    install_log_redaction()  # no stream password may reach a log line
    app.router.add_post("/api/streams", add_stream)
    app.router.add_get("/api/streams", list_streams)
    app.router.add_delete("/api/streams/{name}", delete_stream)
    app.router.add_post("/api/streams/{name}/restart", restart_stream)
    app.router.add_get("/api/alerts", list_alerts)
    app.router.add_get("/api/alerts/{id}/snapshot.jpg", alert_snapshot)
    app.router.add_get("/api/streams/{name}/thumbnail.jpg", stream_thumbnail)
    app.router.add_delete("/api/alerts/{id}", delete_alert)
    app.router.add_get("/api/events", monitor_events)
