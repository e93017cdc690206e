"""WHIP ingest (RFC 9725): ``POST /whip`` an SDP offer, get ``201 Created`` with the answer and a resource URL;
``PATCH`` that URL with trickled ICE candidates; ``DELETE`` it to end the push. OBS, GStreamer and FFmpeg
speak it; a pushed stream is analysed and shown like an RTSP camera."""
from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import OrderedDict

from aiohttp import web
from aiortc import RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from ..monitor.manager import Monitor, MonitorError
from ..monitor.supervisor import StreamConfig
from .config import ServerConfig
from .ice import rtc_configuration
from .keys import CFG_KEY, MONITOR_KEY, WHIP_KEY
from .responses import error
from .signalling import OfferError, check_offer_sdp
from .stream_routes import BodyError, clean_name
from .whip_stream import WhipStream

log = logging.getLogger(__name__)
SDP = "application/sdp"
SDPFRAG = "application/trickle-ice-sdpfrag"
ENDED_KEPT = 256
OPTIONS = {"fps": (10.0, 0.2, 60.0), "threshold": (None, 0.0, 1.0), "alert_seconds": (2.0, 0.0, 3600.0)}


class WhipEndpoint:
    """The pushed streams by resource id; each also lives in the monitor under its name."""

    def __init__(self, cfg: ServerConfig, monitor: Monitor):
        self.cfg, self.monitor = cfg, monitor
        self.streams: dict[str, WhipStream] = {}
        # Resources whose media already ended (senders often close the connection before their DELETE):
        # a late DELETE still succeeds. Bounded: the oldest are forgotten.
        self.ended: OrderedDict[str, str] = OrderedDict()

    async def open(self, sdp: str, options: StreamConfig) -> tuple[WhipStream, str]:
        offer = check_offer_sdp(sdp, data_channel=False)
        pc = RTCPeerConnection(rtc_configuration(self.cfg))
        stream = WhipStream(options, pc, self.monitor.model, self.monitor.sinks(options, "whip"), self.monitor.emit,
                            self._ended)
        try:
            self.monitor.attach(stream)
        except MonitorError:
            await pc.close()
            raise
        self.streams[stream.id] = stream
        try:
            answer = await stream.negotiate(offer, self.cfg.connect_timeout)
        except Exception as exc:
            await self.close(stream.id)
            raise OfferError(400, f"The offer could not be negotiated: {str(exc) or type(exc).__name__}") from exc
        return stream, answer.sdp

    def _ended(self, stream: WhipStream) -> None:
        if self.streams.get(stream.id) is stream:
            asyncio.get_running_loop().create_task(self.close(stream.id), name=f"whip-{stream.id}-end")

    async def close(self, resource: str) -> str | None:
        """End a push; its stream name, or None for an unknown resource."""
        stream = self.streams.pop(resource, None)
        if stream is None:
            return self.ended.get(resource)
        self.ended[resource] = stream.cfg.name
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)
        if self.monitor.streams.get(stream.cfg.name) is stream:
            await self.monitor.remove(stream.cfg.name)
        return stream.cfg.name

    async def trickle(self, resource: str, fragment: str) -> bool:
        """Add the candidates of an SDP fragment (RFC 8840); False for an unknown resource."""
        stream = self.streams.get(resource)
        if stream is None:
            return False
        mid = None
        for line in fragment.replace("\r\n", "\n").split("\n"):
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=candidate:"):
                candidate = parse_candidate(line[12:].strip())
                candidate.sdpMid = mid
                await stream.pc.addIceCandidate(candidate)
            elif line.startswith("a=end-of-candidates"):
                await stream.pc.addIceCandidate(None)
        return True


def parse_candidate(text: str):
    """An ICE candidate line (RFC 8839), or ValueError: aiortc's parser asserts or raises on garbage."""
    try:
        return candidate_from_sdp(text)
    except (AssertionError, IndexError, ValueError) as exc:
        raise ValueError(f"{text[:80]!r} is not an ICE candidate") from exc


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
