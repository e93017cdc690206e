"""One live stream's supervisor: connect, read, reconnect; the analysis is the shared ``Pipeline``.

A reader thread decodes (blocking PyAV) and offers each frame to the stream's ``Pipeline`` (latest-frame
hand-off, at most ``fps`` analyses per second, fewer under load). When the source stalls (no packet for
``stall_seconds``) or ends, the reader reconnects with exponential backoff and jitter; a source that never
goes live ends ``failed``.
"""
from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av

from ..core.analyzer import Analyzer
from ..core.model import Model
from .pipeline import Pipeline, RunsPipeline, live_analyzer
from ..runtime.netpolicy import AddressPolicy
from .rate import AdaptiveRate
from .sinks import EventSink, FrameHook, stream_sinks
from .status import Status, StatusEvent
from .alerts import Alert
from .guarded import GuardedStream
from ..media.video import ReferenceFrames, single_threaded
from .urls import check_url

KIND = "rtsp"
ALL_FRAMES, REFERENCE_FRAMES = "all frames", "reference frames"


@dataclass
class StreamConfig:
    name: str
    url: str
    fps: float = 10.0  # the most frames per second analysed; fewer under load
    threshold: float = 0.5
    alert_seconds: float = 2.0
    allow_http: bool = False
    connect_timeout: float = 5.0
    stall_seconds: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    max_failures: int = 5  # consecutive attempts that never produce a frame before ``failed``
    min_fps: float = 2.0  # the analysis rate never adapts below this
    # outbound address rules, held for every connection made for the stream (redirects, segments too)
    policy: AddressPolicy = field(default_factory=AddressPolicy.trusting)

    @property
    def floor_fps(self) -> float:
        return min(self.min_fps, self.fps)

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "fps": self.fps, "threshold": self.threshold,
                "alert_seconds": self.alert_seconds}


@dataclass
class SourceStats:
    """What the reader knows beyond the pipeline's counters."""
    connects: int = 0
    reconnects: int = 0
    decoding: str = ALL_FRAMES  # or REFERENCE_FRAMES (``ReferenceFrames``), this connection's


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter in [base/2, base]."""
    base = min(maximum, initial * (2 ** max(0, attempt - 1)))
    return base * (0.5 + 0.5 * rng.random())


class StreamSupervisor(RunsPipeline):
    def __init__(self, cfg: StreamConfig, model: Model, emit: EventSink,
                 store_alert: Callable[[Alert], None] | None = None, notify: Callable[[Alert], None] | None = None,
                 on_frame: FrameHook | None = None, analyzer_factory: Callable[[], Analyzer] | None = None):
        cfg.url = check_url(cfg.url, cfg.allow_http)  # validated, scheme in lower case, before anything starts
        self.cfg, self.emit = cfg, emit
        self.source = SourceStats()
        sinks = stream_sinks(cfg.name, KIND, emit, cfg.threshold, cfg.alert_seconds, store_alert, notify, on_frame)
        # the stream's own threshold (a site's calibrated one, say) decides its verdicts as well as its alerts
        factory = analyzer_factory or (lambda: live_analyzer(model, KIND, cfg.threshold))
        self.pipeline = Pipeline(cfg.name, KIND, factory, sinks, AdaptiveRate(cfg.fps, cfg.floor_fps),
                                 self._status_changed)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._rng = random.Random()

    def start(self) -> None:
        self.pipeline.start()
        self._reader = threading.Thread(target=self._read_forever, name=f"read-{self.cfg.name}", daemon=True)
        self._reader.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._reader:
            await asyncio.to_thread(self._reader.join, self.cfg.stall_seconds + self.cfg.connect_timeout + 1)
        await self.pipeline.close()

    @property
    def running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def _status_changed(self, status: Status, error: str | None) -> None:
        self.emit(StatusEvent(self.cfg.name, KIND, status, error))

    # -- reader thread -------------------------------------------------------------------------
    def _read_forever(self) -> None:
        failures = 0
        generation = 0
        while not self._stop.is_set():
            generation += 1
            got_frames, error = self._read_once(generation)
            if self._stop.is_set():
                return
            failures = 0 if got_frames else failures + 1
            if failures >= self.cfg.max_failures:
                self.pipeline.set_source_status(Status.FAILED, error)
                return
            self.source.reconnects += 1
            delay = backoff_delay(max(failures, 1), self.cfg.backoff_initial, self.cfg.backoff_max, self._rng)
            self.pipeline.set_source_status(Status.RECONNECTING, error)
            self._stop.wait(delay)

    def _read_once(self, generation: int) -> tuple[bool, str]:
        """One connection, until it ends; (whether it gave frames, why it ended)."""
        got = False
        last = time.monotonic()  # the connection's start, then its last frame
        guard: GuardedStream | None = None
        try:
            guard = GuardedStream(self.cfg.url, self.cfg.allow_http, self.cfg.policy, self.cfg.connect_timeout,
                                  self.cfg.stall_seconds)
            with guard, guard.open() as c:
                if not c.streams.video:
                    raise av.error.InvalidDataError(0, "source has no video stream")
                self.source.connects += 1
                stream = c.streams.video[0]
                single_threaded(stream)
                refs = ReferenceFrames(stream)
                for frame in c.decode(stream):
                    if self._stop.is_set():
                        return got, "stopped"
                    if guard.error:  # a connection made for the stream was refused: it ends here
                        return got, guard.error
                    got, last = True, time.monotonic()
                    refs.decoded(last, self.pipeline.stats.target_fps or self.cfg.fps)
                    self.source.decoding = REFERENCE_FRAMES if refs.on else ALL_FRAMES
                    if not self.pipeline.offer_threadsafe(frame, generation):
                        self._stop.set()  # the loop has closed
            return got, guard.error or "stream ended"
        except av.error.FFmpegError as exc:
            error = (guard and guard.error) or _describe(exc, got, time.monotonic() - last, self.cfg)
            if got:
                self.pipeline.set_source_status(Status.STALLED, error)
            return got, error
        except Exception as exc:  # anything else the source throws must not kill the supervisor
            return got, (guard and guard.error) or f"{type(exc).__name__}: {exc}"

    def snapshot(self) -> dict:
        return stream_snapshot(self.cfg, KIND, self.pipeline, self.source.connects, self.source.reconnects,
                               decoding=self.source.decoding)


def stream_snapshot(cfg: StreamConfig, kind: str, pipeline: Pipeline, connects: int, reconnects: int,
                    **extra: object) -> dict:
    """The one shape every monitored stream (pulled or pushed) reports in /api/streams and /metrics."""
    return {**cfg.to_dict(), "kind": kind, **pipeline.snapshot(), "connects": connects, "reconnects": reconnects,
            "last_frame_at": pipeline.last_frame_at, **extra, "latest": pipeline.latest}


def _describe(exc: av.error.FFmpegError, got_frames: bool, quiet: float, cfg: StreamConfig) -> str:
    """The user-facing reason for a failed attempt; ``quiet``: seconds without a frame before the error."""
    text = exc.strerror or str(exc)
    if got_frames and quiet >= 0.9 * cfg.stall_seconds:
        return f"stalled: no data for {cfg.stall_seconds:g} s ({text})"
    if not got_frames and quiet >= 0.9 * cfg.connect_timeout:
        return f"no answer within the {cfg.connect_timeout:g} s timeout ({text})"
    return text
