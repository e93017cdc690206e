"""WHIP ingest (RFC 9725): ``POST /whip`` an SDP offer, get ``201 Created`` with the answer and a resource URL;
``PATCH`` that URL with trickled ICE candidates; ``DELETE`` it to end the push. OBS, GStreamer and FFmpeg
speak it; a pushed stream is analysed and shown like an RTSP camera."""
from __future__ import annotations

import logging
import math
import secrets

from aiohttp import web

from ..live.manager import MonitorError
from ..live.supervisor import StreamConfig
from .keys import CFG_KEY, MONITOR_KEY, WHIP_KEY
from .responses import error
from ..live.signalling import OfferError
from .stream_routes import BodyError, clean_name

log = logging.getLogger(__name__)
SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
OPTIONS = {"fps": (10.0, 0.2, 60.0), "threshold": (None, 0.0, 1.0), "alert_seconds": (2.0, 0.0, 3600.0)}


def stream_options(query: dict, default_threshold: float) -> StreamConfig:
    """``?name=&fps=&threshold=&alert_seconds=`` of the WHIP URL, checked like a stream added by the API."""
    unknown = set(query) - {"name", *OPTIONS}
    if unknown:
        raise BodyError(f"unknown query parameters: {', '.join(sorted(unknown))}")
    name = clean_name(query["name"]) if "name" in query else f"whip-{secrets.token_hex(2)}"
    values = {}
    for key, (default, low, high) in OPTIONS.items():
        try:
            value = float(query.get(key, default if default is not None else default_threshold))
        except ValueError:
            raise BodyError(f"'{key}' must be a number") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise BodyError(f"'{key}' must be between {low:g} and {high:g}")
        values[key] = value
    return StreamConfig(name, f"whip:{name}", **values)


async def publish(request: web.Request) -> web.Response:
    cfg, endpoint = request.app[CFG_KEY], request.app[WHIP_KEY]
    if request.content_type != SDP:
        return error(415, f"a WHIP offer is sent as {SDP}")
    if (request.content_length or 0) > cfg.max_offer_bytes:
        return error(413, f"The offer is larger than {cfg.max_offer_bytes} bytes.")
    try:
        sdp = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        return error(400, "the offer is not UTF-8 text")
    try:
        options = stream_options(dict(request.query), request.app[MONITOR_KEY].model.manifest.threshold)
        stream, answer = await endpoint.open(sdp, options)
    except BodyError as exc:
        return error(400, str(exc))
    except MonitorError as exc:
        return error(409 if "already exists" in str(exc) else 503, str(exc))
    except OfferError as exc:
        return error(exc.status, exc.message)
    location = f"/whip/{stream.id}"
    return web.Response(status=201, text=answer, content_type=SDP,
                        headers={"Location": location, "ETag": f'"{stream.id}"', "X-Stream-Name": stream.cfg.name})


async def trickle(request: web.Request) -> web.Response:
    if request.headers.get("If-Match") == "*":
        return error(405, "ICE restarts are not supported: end the push and publish again")
    if request.content_type != SDPFRAG:
        return error(415, f"trickled candidates are sent as {SDPFRAG}")
    try:
        fragment = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        return error(400, "the fragment is not UTF-8 text")
    try:
        known = await request.app[WHIP_KEY].trickle(request.match_info["id"], fragment)
    except ValueError as exc:
        return error(400, f"bad candidate: {exc}")
    return web.Response(status=204) if known else error(404, "no such WHIP resource (the push may have ended)")


async def unpublish(request: web.Request) -> web.Response:
    name = await request.app[WHIP_KEY].close(request.match_info["id"])
    if name is None:
        return error(404, "no such WHIP resource")
    return web.json_response({"deleted": name})


async def options(_request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Accept-Post": SDP, "Allow": "OPTIONS, POST"})


def add_whip_routes(app: web.Application) -> None:
    app.router.add_post("/whip", publish)
    app.router.add_route("OPTIONS", "/whip", options)
    app.router.add_patch("/whip/{id}", trickle)
    app.router.add_delete("/whip/{id}", unpublish)
