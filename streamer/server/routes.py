"""HTTP routes: the page, signalling, health, page configuration and the server's own counters."""
from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..files.report import TRACK_COLOURS, WORST_MOMENTS
from ..live.status import STATUS_TEXT
from .config import ServerConfig
from .aiohttp_compat import json_parse_errors
from .auth import ADMIN, access_middleware, add_auth_routes, caller, is_loopback
from .keys import CFG_KEY, ICE_KEY, MODEL_KEY, SESSIONS_KEY, SIGNINS_KEY
from .limits import RateLimiter, rate_limit_middleware
from .listen import quiet_bad_requests
from .openapi import add_openapi_route
from .responses import error, file_response
from ..live.signalling import OfferError, parse_offer
from .signins import SignIns

log = logging.getLogger(__name__)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
# Nothing outside this server may load: no CDN, fonts or trackers.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every 4xx/5xx answer has a JSON body {"error", "status"}, whoever raised it (router, size limit...)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        text = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 413:
            text = f"the request body is too large (at most {request.app[CFG_KEY].max_offer_bytes} bytes here)"
        response = error(exc.status, text)
        for name in ("Allow", "Retry-After", "Location"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except HttpProcessingError as exc:  # a malformed body part (multipart headers, chunking) the parser refused
        return error(exc.code if 400 <= exc.code < 500 else 400, f"malformed request: {exc.message}"[:300])
    except Exception:
        # A bug, not the client's fault: one logged traceback, and the answer is still JSON.
        log.exception("%s %s failed", request.method, request.path[:200])
        return error(500, "internal error (the server logged it)")


def middlewares(cfg: ServerConfig, limiter: RateLimiter, signins: SignIns) -> list:
    """Outermost first: JSON errors, access control, per-client rate limit of changing requests."""
    return [json_errors, access_middleware(cfg.access, signins), rate_limit_middleware(limiter)]


async def index(request: web.Request) -> web.StreamResponse:
    return static_file(request, "index.html")


async def signin(request: web.Request) -> web.StreamResponse:
    return static_file(request, "signin.html")


async def page(request: web.Request) -> web.StreamResponse:
    return static_file(request, request.path.strip("/") + ".html")


async def static(request: web.Request) -> web.StreamResponse:
    return static_file(request, request.match_info["name"])


def static_file(request: web.Request, name: str) -> web.StreamResponse:
    cfg = request.app[CFG_KEY]
    if not name.isprintable() or "/" in name or "\\" in name:
        raise web.HTTPNotFound()
    path = (cfg.web_dir / name).resolve()
    if path.parent != cfg.web_dir.resolve() or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    return file_response(request, path, {"Content-Type": STATIC_TYPES[path.suffix], "Cache-Control": "no-cache",
                                         "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})


async def offer(request: web.Request) -> web.Response:
    cfg = request.app[CFG_KEY]
    if request.content_length is not None and request.content_length > cfg.max_offer_bytes:
        return error(413, f"The offer is larger than {cfg.max_offer_bytes} bytes.")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"The offer is larger than {cfg.max_offer_bytes} bytes.")
    try:
        description = parse_offer(body)
        session, answer = await request.app[SESSIONS_KEY].open(description, caller(request).who)
    except OfferError as exc:
        if exc.status >= 500:
            log.warning("offer refused: %s", exc.message)
        return error(exc.status, exc.message)
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "session": session.id,
                              "lowLatency": session.low_latency})


async def close_session(request: web.Request) -> web.Response:
    """The admin may end any live session; a viewer only one it opened itself."""
    manager, sid, who = request.app[SESSIONS_KEY], request.match_info["sid"], caller(request)
    session = manager.active.get(sid)
    if session is None:
        return error(404, "No such session (it may have ended already).")
    if who.role != ADMIN and session.owner != who.who:
        return error(403, "a viewer may end only its own sessions")
    await manager.close(sid, "closed by the page")
    return web.json_response({"closed": sid})


async def sessions(request: web.Request) -> web.Response:
    return web.json_response(request.app[SESSIONS_KEY].stats())


async def config(request: web.Request) -> web.Response:
    cfg, model, ice = request.app[CFG_KEY], request.app[MODEL_KEY], request.app[ICE_KEY]
    manifest = model.manifest
    return web.json_response({
        "iceServers": [s.to_page() for s in cfg.ice_servers], "maxSessions": cfg.max_sessions,
        "ice": {"addresses": list(ice.addresses), "hint": ice.hint(is_loopback(request.remote or ""))},
        "connectTimeout": cfg.connect_timeout, "statuses": {str(k): v for k, v in STATUS_TEXT.items()},
        "model": {"name": manifest.name, "version": manifest.version, "threshold": manifest.threshold,
                  "uncertainMargin": manifest.uncertain_margin, "window": manifest.window,
                  "provider": model.provider},  # where this process's encoder runs: CUDA or the CPU
        # The pages' rules, from their one Python definition each: a score's verdict, how many worst
        # moments a scan shows, and each track's colour (by track id: colours[(id - 1) % len]).
        "verdict": {"threshold": manifest.threshold, "uncertain_margin": manifest.uncertain_margin},
        "worst_moments": WORST_MOMENTS,
        "track_colours": TRACK_COLOURS,
    })


async def healthz(request: web.Request) -> web.Response:
    manager = request.app[SESSIONS_KEY]
    return web.json_response({"status": "ok", "sessions": len(manager.active),
                              "maxSessions": manager.cfg.max_sessions})


def add_routes(app: web.Application) -> None:
    quiet_bad_requests()  # an oversized header logs one line, not a traceback
    json_parse_errors(app)  # and is answered in JSON too
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/replay", page)
    app.router.add_get("/dashboard", page)
    app.router.add_get("/signin", signin)
    add_auth_routes(app, app[CFG_KEY].access, app[SIGNINS_KEY])
    app.router.add_post("/api/offer", offer)
    app.router.add_get("/api/sessions", sessions)
    app.router.add_delete("/api/sessions/{sid}", close_session)
    app.router.add_post("/api/sessions/{sid}/close", close_session)  # for navigator.sendBeacon on page close
    app.router.add_get("/api/config", config)
    app.router.add_get("/healthz", healthz)
    add_openapi_route(app)
