"""WHIP ingest (RFC 9725): OBS, GStreamer, FFmpeg or a browser push a stream; it is analysed like an RTSP camera.

``POST /whip`` with an ``application/sdp`` offer answers ``201 Created``, the SDP answer and a
``Location`` (the session's resource); ``PATCH`` on it takes trickled ICE candidates
(``application/trickle-ice-sdpfrag``), ``DELETE`` ends the push. With an API token, each request needs
``Authorization: Bearer TOKEN``. A pushed stream runs the same ``Pipeline`` and sinks as a camera:
it shows on the dashboard (``/api/streams``, the event stream), raises stored alerts, and counts in
``/metrics`` under ``kind="whip"``.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
from collections.abc import Callable

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from ..analyzer import Analyzer
from ..model import Model
from ..monitor.alerts import Alert, AlertRule
from ..pipeline import Pipeline
from ..rate import AdaptiveRate
from ..sinks import Alerts, EventSink, FrameHook, FrameTap, ResultEvents
from ..status import Status, StatusEvent
from . import aiortc_compat
from .config import ServerConfig
from .ice import rtc_configuration
from .track_source import TrackSource

log = logging.getLogger(__name__)
KIND = "whip"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
SDP = "application/sdp"
TRICKLE = "application/trickle-ice-sdpfrag"


class WhipError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def check_offer(text: str) -> RTCSessionDescription:
    """An SDP offer with a video section that sends; WhipError(400) otherwise."""
    if not text.startswith("v=0"):
        raise WhipError(400, "the body is not an SDP offer (it must start with 'v=0')")
    sections = text.replace("\r\n", "\n").split("\nm=")[1:]
    video = [s for s in sections if s.startswith("video ")]
    if not video:
        raise WhipError(400, "the offer has no video section")
    if all(any(f"\na={d}" in s for d in ("recvonly", "inactive")) for s in video):
        raise WhipError(400, "the offer's video is not sent (sendonly or sendrecv expected)")
    return RTCSessionDescription(sdp=text, type="offer")


def trickled_candidates(fragment: str) -> list[tuple[str | None, str | None]]:
    """(mid, candidate line or None for end-of-candidates) of a trickle-ice-sdpfrag body."""
    mid, out = None, []
    for line in fragment.replace("\r\n", "\n").split("\n"):
        if line.startswith("a=mid:"):
            mid = line[6:].strip()
        elif line.startswith("a=candidate:"):
            out.append((mid, line[2:].strip()))
        elif line.strip() == "a=end-of-candidates":
            out.append((mid, None))
    return out


async def _drain(track: MediaStreamTrack) -> None:
    """Receive a track nobody analyses (OBS sends audio): aiortc queues what is not received, without bound."""
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        pass


class WhipSession:
    """One pushed stream: a peer connection receiving video, and the same pipeline as an RTSP camera."""

    def __init__(self, sid: str, name: str, pc: RTCPeerConnection, factory: Callable[[], Analyzer], emit: EventSink,
                 rule: AlertRule, fps: float, store_alert: Callable[[Alert], None] | None,
                 on_frame: FrameHook | None, on_closed: Callable[["WhipSession"], None]):
        self.id, self.name, self.pc, self.emit = sid, name, pc, emit
        self.fps, self.threshold, self.alert_seconds = fps, rule.threshold, rule.hold_seconds
        sinks = [ResultEvents(name, KIND, emit), Alerts(rule, KIND, emit, store_alert)]
        if on_frame:
            sinks.append(FrameTap(name, on_frame))
        self.pipeline = Pipeline(name, KIND, factory, sinks, AdaptiveRate(fps, min(2.0, fps)), self._status)
        self.source: TrackSource | None = None
        self.close_reason: str | None = None
        self._on_closed = on_closed
        self._closing: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._drains: list[asyncio.Task] = []  # audio (and extra video) tracks, received and discarded

    def _status(self, status: Status, error: str | None) -> None:
        self.emit(StatusEvent(self.name, KIND, status, error))

    async def negotiate(self, offer: RTCSessionDescription, connect_timeout: float) -> RTCSessionDescription:
        pc = self.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind != "video" or self.source is not None:
                self._drains.append(asyncio.get_running_loop().create_task(_drain(track), name=f"whip-{self.id}-drain"))
                return
            self.source = TrackSource(track, self.pipeline, lambda _pts: None)
            self.source.start(lambda: self.schedule_close("video track ended"))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self.schedule_close(f"connection {pc.connectionState}")

        self.pipeline.start()
        await pc.setRemoteDescription(offer)
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                aiortc_compat.install_marker_jitter_buffer(transceiver.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(connect_timeout), name=f"whip-{self.id}")
        return pc.localDescription

    async def _watch(self, timeout: float) -> None:
        await asyncio.sleep(timeout)
        if self.pc.connectionState != "connected":
            self.schedule_close(f"no connection within {timeout:g} s")

    async def add_candidates(self, fragment: str) -> int:
        added = 0
        for mid, line in trickled_candidates(fragment):
            if line is None:
                await self.pc.addIceCandidate(None)
                continue
            candidate = candidate_from_sdp(line.removeprefix("candidate:"))
            candidate.sdpMid = mid
            candidate.sdpMLineIndex = None if mid is not None else 0
            await self.pc.addIceCandidate(candidate)
            added += 1
        return added

    def schedule_close(self, reason: str) -> asyncio.Task:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(reason), name=f"whip-{self.id}-close")
        return self._closing

    async def close(self, reason: str) -> None:
        await asyncio.shield(self.schedule_close(reason))

    async def _close(self, reason: str) -> None:
        self.close_reason = reason
        log.info("WHIP %s (%s) closing: %s", self.name, self.id, reason)
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        try:
            try:
                for task in self._drains:
                    task.cancel()
                await asyncio.gather(*self._drains, return_exceptions=True)
                if self.source is not None:
                    await self.source.close()
                await self.pipeline.close()
            except Exception:  # the peer connection must close whatever happened to the analysis
                log.exception("WHIP %s: closing the analysis failed", self.name)
            await self.pc.close()
        finally:
            self._on_closed(self)

    def snapshot(self) -> dict:
        """Shaped like a monitored stream's, so the dashboard and /metrics show it the same way."""
        return {"name": self.name, "url": "whip", "fps": self.fps, "threshold": self.threshold,
                "alert_seconds": self.alert_seconds, "kind": KIND, **self.pipeline.snapshot(), "connects": 1,
                "reconnects": 0, "last_frame_at": None, "latest": self.pipeline.latest}


class WhipManager:
    def __init__(self, cfg: ServerConfig, model: Model, emit: EventSink, store_alert: Callable[[Alert], None] | None,
                 on_frame: FrameHook | None, taken: Callable[[str], bool], max_sessions: int = 4, fps: float = 10.0,
                 alert_seconds: float = 2.0):
        self.cfg, self.model, self.emit, self.store_alert, self.on_frame = cfg, model, emit, store_alert, on_frame
        self.taken, self.max_sessions, self.fps, self.alert_seconds = taken, max_sessions, fps, alert_seconds
        self.active: dict[str, WhipSession] = {}
        self.created = self.closed = 0

    async def open(self, offer: RTCSessionDescription, name: str | None) -> tuple[WhipSession, RTCSessionDescription]:
        if len(self.active) >= self.max_sessions:
            raise WhipError(503, f"{self.max_sessions} WHIP streams are already being analysed, the maximum")
        sid = secrets.token_hex(8)
        name = name or f"whip-{sid[:6]}"
        if not NAME.match(name):
            raise WhipError(400, "'name' must be 1-64 letters, digits, '.', '_' or '-'")
        if self.taken(name) or any(s.name == name for s in self.active.values()):
            raise WhipError(409, f"a stream named {name!r} already exists")
        threshold = self.model.manifest.threshold
        session = WhipSession(sid, name, RTCPeerConnection(rtc_configuration(self.cfg)),
                              lambda: Analyzer(self.model, source=KIND, keep_summaries=64), self.emit,
                              AlertRule(name, threshold, self.alert_seconds), self.fps, self.store_alert,
                              self.on_frame, self._closed)
        self.active[sid] = session  # counted before any await, so concurrent offers respect the limit
        self.created += 1
        try:
            answer = await session.negotiate(offer, self.cfg.connect_timeout)
        except Exception as exc:
            await session.close("negotiation failed")
            raise WhipError(400, f"the offer could not be negotiated: {str(exc) or type(exc).__name__}") from exc
        return session, answer

    def _closed(self, session: WhipSession) -> None:
        if self.active.pop(session.id, None) is not None:
            self.closed += 1

    def snapshot(self) -> list[dict]:
        return [s.snapshot() for s in self.active.values()]

    def by_name(self, name: str) -> WhipSession | None:
        return next((s for s in self.active.values() if s.name == name), None)

    async def close_all(self) -> None:
        await asyncio.gather(*(s.close("server shutting down") for s in list(self.active.values())),
                             return_exceptions=True)


WHIP_KEY = web.AppKey("whip", WhipManager)


def stored_in(store) -> Callable[[Alert], None]:
    """An alert sink that keeps the alert and its snapshot in the server's SQLite (as cameras' alerts)."""
    def keep(alert: Alert) -> None:
        alert.id = store.add_alert(alert.stream, alert.track_id, alert.pts, alert.score, alert.created, alert.snapshot)
    return keep


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


def _authorised(request: web.Request) -> bool:
    from .keys import CFG_KEY

    token = request.app[CFG_KEY].api_token
    if not token:
        return True
    given = request.headers.get("Authorization", "")
    return given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode())


UNAUTHORISED = "a valid token is required (Authorization: Bearer TOKEN)"


async def whip_offer(request: web.Request) -> web.Response:
    from .keys import CFG_KEY

    if not _authorised(request):
        return _error(401, UNAUTHORISED, **{"WWW-Authenticate": "Bearer"})
    if request.content_type != SDP:
        return _error(415, f"send the SDP offer as {SDP}")
    limit = request.app[CFG_KEY].max_offer_bytes
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"the offer is larger than {limit} bytes")
    try:
        offer = check_offer(body.decode("utf-8"))
        session, answer = await request.app[WHIP_KEY].open(offer, request.query.get("name"))
    except UnicodeDecodeError:
        return _error(400, "the offer is not UTF-8 text")
    except WhipError as exc:
        return _error(exc.status, exc.message)
    return web.Response(status=201, text=answer.sdp, content_type=SDP, headers={
        "Location": f"/whip/{session.id}", "ETag": f'"{session.id}"'})


def _session(request: web.Request) -> WhipSession | None:
    return request.app[WHIP_KEY].active.get(request.match_info["id"])


async def whip_patch(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _error(401, UNAUTHORISED, **{"WWW-Authenticate": "Bearer"})
    session = _session(request)
    if session is None:
        return _error(404, "no such WHIP session (it may have ended)")
    if request.content_type != TRICKLE:
        return _error(415, f"send trickled candidates as {TRICKLE}")
    try:
        await session.add_candidates((await request.content.read(64 * 1024)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, IndexError) as exc:
        return _error(400, f"the candidates cannot be read: {exc}")
    return web.Response(status=204)


async def whip_delete(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _error(401, UNAUTHORISED, **{"WWW-Authenticate": "Bearer"})
    session = _session(request)
    if session is None:
        return _error(404, "no such WHIP session (it may have ended)")
    await session.close("ended by the client (DELETE)")
    return web.json_response({"deleted": session.name})


def add_whip_routes(app: web.Application) -> None:
    app.router.add_post("/whip", whip_offer)
    app.router.add_patch("/whip/{id}", whip_patch)
    app.router.add_delete("/whip/{id}", whip_delete)
