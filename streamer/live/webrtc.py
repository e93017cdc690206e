"""WebRTC sessions: one peer connection, data channel and live pipeline each, and their registry."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable

from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamTrack

from ..core.analyzer import Analyzer
from ..core.model import Model
from .pipeline import THREAD_PREFIX, Analysed, Pipeline, Sink, live_analyzer
from .sinks import EventSink
from .status import Status, StatusEvent
from . import aiortc_compat
from .ice import PeerSettings, rtc_configuration
from .signalling import OfferError, SessionLimitError
from .track_source import TrackSource, answer_receive_only


log = logging.getLogger(__name__)
KIND = "webrtc"
SESSION_THREADS = f"{THREAD_PREFIX}-{KIND}-"
MAX_BUFFERED = 256 * 1024  # bytes queued on the data channel before results are skipped


class DataChannelResults(Sink):
    """Each analysed frame to the page, with the counters and timings its latency breakdown needs."""

    def __init__(self, session: "Session"):
        self.session = session

    def on_result(self, out: Analysed) -> None:
        r, item = out.result, out.incoming
        stats = {**self.session.pipeline.stats.to_dict(), "wait_ms": out.wait_ms, "process_ms": out.process_ms,
                 "received_at": round(item.wall * 1000, 1), "skipped": self.session.skipped}
        self.session.send({"type": "result", **r.to_dict(), "rtp": item.rtp, "width": r.width, "height": r.height,
                           "stats": stats})


class Session:
    """One browser's live analysis; ``close`` is idempotent and leaves no task or thread behind."""

    def __init__(self, sid: str, pc: RTCPeerConnection, analyzer_factory: Callable[[], Analyzer],
                 on_closed: Callable[["Session"], None], emit: EventSink | None = None):
        self.id = sid
        self.pc = pc
        self.channel: RTCDataChannel | None = None
        self.pipeline = Pipeline(sid, KIND, analyzer_factory, [DataChannelResults(self)],
                                 on_status=self._status_changed)
        self.source: TrackSource | None = None
        self._blackhole = MediaBlackhole()
        self.skipped = 0
        self.close_reason: str | None = None
        self._emit = emit
        self._on_closed = on_closed
        self._closing: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self.low_latency = False  # frames leave the jitter buffer on their marker packet

    async def negotiate(self, offer: RTCSessionDescription, connect_timeout: float) -> RTCSessionDescription:
        pc = self.pc

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self.channel = channel
            channel.on("close", lambda: self.schedule_close("data channel closed"))
            channel.on("message", self._on_message)

        def on_video(track: MediaStreamTrack) -> None:
            origin = self._rtp_origin(track)
            self.source = TrackSource(track, self.pipeline, lambda pts: _rtp(pts, origin()))
            self.source.start(lambda: self.schedule_close("video track ended"))

        self.low_latency = await answer_receive_only(pc, offer, self.pipeline, on_video, self._blackhole,
                                                     self.schedule_close)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(connect_timeout), name=f"{self.id}-watch")
        return pc.localDescription

    def _rtp_origin(self, track: MediaStreamTrack) -> Callable[[], int | None]:
        for receiver in self.pc.getReceivers():
            if receiver.track is track:
                return aiortc_compat.rtp_origin(receiver)
        return lambda: None

    async def _watch(self, timeout: float) -> None:
        await asyncio.sleep(timeout)
        if self.pc.connectionState != "connected":
            self.schedule_close(f"no connection within {timeout:g} s")

    def _on_message(self, message: object) -> None:
        if not isinstance(message, str):
            return
        try:
            data = json.loads(message)
        except json.JSONDecodeError:
            return
        if isinstance(data, dict) and data.get("type") == "bye":
            self.schedule_close("page stopped")

    def _status_changed(self, status: Status, error: str | None) -> None:
        self.send({"type": "status", "status": str(status), "error": error})
        if self._emit:
            self._emit(StatusEvent(self.id[:4], KIND, status, error))

    def send(self, message: dict) -> None:
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return
        if channel.bufferedAmount > MAX_BUFFERED:
            self.skipped += 1
            return
        channel.send(json.dumps(message, separators=(",", ":")))

    def schedule_close(self, reason: str) -> asyncio.Task:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(reason), name=f"{self.id}-close")
        return self._closing

    async def close(self, reason: str) -> None:
        await asyncio.shield(self.schedule_close(reason))

    async def _close(self, reason: str) -> None:
        self.close_reason = reason
        log.info("session %s closing: %s", self.id, reason)
        current = asyncio.current_task()
        if self._watchdog is not None and self._watchdog is not current:
            self._watchdog.cancel()
        try:
            try:
                if self.source is not None:
                    await self.source.close()
                await self.pipeline.close()
                await self._blackhole.stop()
            except Exception:  # the peer connection must close whatever happened to the analysis
                log.exception("session %s: closing the analysis failed", self.id)
            await self.pc.close()
        finally:
            self._on_closed(self)

    @property
    def tasks(self) -> list[asyncio.Task]:
        own = [self.source.task if self.source else None, self.pipeline.task, self._watchdog, self._closing]
        return [t for t in own if t is not None and not t.done() and t is not asyncio.current_task()]

    def snapshot(self) -> dict:
        # Only a prefix of the id: the full id lets its page end the session without a token.
        return {"id": self.id[:4], "kind": KIND, "state": self.pc.connectionState, "low_latency": self.low_latency,
                **self.pipeline.snapshot()}


def _rtp(pts: int, origin: int | None) -> int | None:
    """aiortc's frame pts are RTP timestamps relative to the first frame's."""
    return None if origin is None else (pts + origin) % (1 << 32)


class SessionSettings(PeerSettings):
    max_sessions: int


class SessionManager:
    """Opens sessions up to the configured limit and keeps the counters /api/sessions reports."""

    def __init__(self, cfg: SessionSettings, model: Model, emit: EventSink | None = None):
        self.cfg = cfg
        self.model = model
        self.emit = emit
        self.active: dict[str, Session] = {}
        self.created = 0
        self.closed = 0
        self.rejected = 0
        self.failed = 0
        self.close_reasons: Counter[str] = Counter()

    async def open(self, offer: RTCSessionDescription) -> tuple[Session, RTCSessionDescription]:
        if len(self.active) >= self.cfg.max_sessions:
            self.rejected += 1
            raise SessionLimitError(self.cfg.max_sessions)
        sid = secrets.token_hex(6)
        session = Session(sid, RTCPeerConnection(rtc_configuration(self.cfg)),
                          lambda: live_analyzer(self.model, KIND),
                          self._closed, self.emit)
        self.active[sid] = session  # counted before any await, so concurrent offers respect the limit
        self.created += 1
        try:
            answer = await session.negotiate(offer, self.cfg.connect_timeout)
        except Exception as exc:
            self.failed += 1
            await session.close("negotiation failed")
            raise OfferError(400, f"The offer could not be negotiated: {str(exc) or type(exc).__name__}") from exc
        return session, answer

    def _closed(self, session: Session) -> None:
        if self.active.pop(session.id, None) is not None:
            self.closed += 1
            self.close_reasons[session.close_reason or "unknown"] += 1

    async def close(self, sid: str, reason: str) -> bool:
        session = self.active.get(sid)
        if session is None:
            return False
        await session.close(reason)
        return True

    async def close_all(self) -> None:
        await asyncio.gather(*(s.close("server shutting down") for s in list(self.active.values())),
                             return_exceptions=True)

    def stats(self) -> dict:
        loop_tasks = asyncio.all_tasks()
        session_threads = [t.name for t in threading.enumerate() if t.name.startswith(SESSION_THREADS)]
        return {
            "sessions": {"active": len(self.active), "max": self.cfg.max_sessions, "created": self.created,
                         "closed": self.closed, "rejected": self.rejected, "failed": self.failed},
            "close_reasons": dict(self.close_reasons),
            "session_tasks": sum(len(s.tasks) for s in self.active.values()),
            "session_threads": len(session_threads),
            "peer_connections": sum(1 for s in self.active.values() if s.pc.connectionState != "closed"),
            "tasks": len(loop_tasks),
            "threads": threading.active_count(),
            "live": [s.snapshot() for s in self.active.values()],
        }
