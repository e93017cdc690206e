"""One live stream's supervisor: connect, read with latest-frame semantics, analyse, reconnect.

A reader thread decodes (blocking PyAV) and hands the newest frame to the event loop through a
``LatestSlot``; an analysis task runs the ``Analyzer`` in the stream's own worker thread at most
``fps`` times per second. When the source stalls (no packet for ``stall_seconds``) or ends, the reader
reconnects with exponential backoff and jitter; a source that never goes live ends ``failed``.
"""
from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import av
import numpy as np

from ..analyzer import Analyzer, FrameResult
from ..handoff import LatestSlot
from ..model import Model
from ..netpolicy import AddressPolicy
from ..rate import AdaptiveRate
from ..sources import Frame
from .alerts import Alert, AlertRule
from .urls import av_options

CONNECTING, LIVE, STALLED, RECONNECTING, FAILED, STOPPED = "connecting", "live", "stalled", "reconnecting", "failed", "stopped"

Event = dict
EventSink = Callable[[Event], None]
FrameHook = Callable[[str, np.ndarray], object]  # (stream name, analysed RGB frame), on the analysis thread


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
    policy: AddressPolicy | None = None  # outbound address rules, checked before every connect

    @property
    def floor_fps(self) -> float:
        return min(self.min_fps, self.fps)

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "fps": self.fps, "threshold": self.threshold,
                "alert_seconds": self.alert_seconds}


@dataclass
class StreamStats:
    status: str = CONNECTING
    error: str | None = None
    connects: int = 0
    reconnects: int = 0
    frames_in: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0  # the analysis was busy when a newer frame arrived
    frames_skipped: int = 0  # not needed to keep the configured analysis rate
    last_frame_at: float | None = None
    alerts: int = 0
    target_fps: float = 0.0
    latency_ms: float = 0.0  # decoder to result, of the last analysed frame
    latest: dict | None = field(default=None, repr=False)


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter in [base/2, base]."""
    base = min(maximum, initial * (2 ** max(0, attempt - 1)))
    return base * (0.5 + 0.5 * rng.random())


class StreamSupervisor:
    def __init__(self, cfg: StreamConfig, model: Model, emit: EventSink, on_alert: Callable[[Alert], None] | None = None,
                 on_frame: FrameHook | None = None):
        av_options(cfg.url, cfg.allow_http)  # validate before anything starts
        self.cfg, self.model, self.emit, self.on_alert, self.on_frame = cfg, model, emit, on_alert, on_frame
        self.stats = StreamStats()
        self._slot: LatestSlot[tuple[int, av.VideoFrame, float]] | None = None
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"analyse-{cfg.name}")
        self._reader: threading.Thread | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rng = random.Random()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slot = LatestSlot()
        self._reader = threading.Thread(target=self._read_forever, name=f"read-{self.cfg.name}", daemon=True)
        self._reader.start()
        self._task = asyncio.create_task(self._analyse_forever(), name=f"analyse-{self.cfg.name}")

    async def stop(self) -> None:
        self._stop.set()
        if self._slot:
            self._slot.close()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._reader:
            await asyncio.to_thread(self._reader.join, self.cfg.stall_seconds + self.cfg.connect_timeout + 1)
        self._executor.shutdown(wait=True)
        self._set_status(STOPPED)

    @property
    def running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    # -- reader thread -------------------------------------------------------------------------
    def _read_forever(self) -> None:
        failures = 0
        generation = 0
        self._set_status(CONNECTING, force=True)
        while not self._stop.is_set():
            generation += 1
            got_frames = self._read_once(generation)
            if self._stop.is_set():
                return
            failures = 0 if got_frames else failures + 1
            if failures >= self.cfg.max_failures:
                self._set_status(FAILED)
                return
            self.stats.reconnects += 1
            delay = backoff_delay(max(failures, 1), self.cfg.backoff_initial, self.cfg.backoff_max, self._rng)
            self._set_status(RECONNECTING)
            self._stop.wait(delay)

    def _read_once(self, generation: int) -> bool:
        got = False
        started = time.monotonic()
        try:
            options = av_options(self.cfg.url, self.cfg.allow_http, self.cfg.stall_seconds, self.cfg.policy)
            with av.open(self.cfg.url, options=options, timeout=(self.cfg.connect_timeout, self.cfg.stall_seconds)) as c:
                if not c.streams.video:
                    raise av.error.InvalidDataError(0, "source has no video stream")
                self.stats.connects += 1
                for frame in c.decode(video=0):
                    if self._stop.is_set():
                        return got
                    got = True
                    self._frame_in(generation, frame)
            self.stats.error = "stream ended"
        except av.error.FFmpegError as exc:
            quiet = (time.time() - self.stats.last_frame_at if got and self.stats.last_frame_at
                     else time.monotonic() - started)
            self.stats.error = _describe(exc, got, quiet, self.cfg)
            if got:
                self._set_status(STALLED)
        except Exception as exc:  # anything else the source throws must not kill the supervisor
            self.stats.error = f"{type(exc).__name__}: {exc}"
        return got

    def _frame_in(self, generation: int, frame: av.VideoFrame) -> None:
        self.stats.frames_in += 1
        self.stats.last_frame_at = time.time()
        if self.stats.status != LIVE:
            self.stats.error = None
            self._set_status(LIVE)
        assert self._loop and self._slot
        try:
            self._loop.call_soon_threadsafe(self._slot.put, (generation, frame, time.perf_counter()))
        except RuntimeError:  # the loop has closed
            self._stop.set()

    # -- analysis ------------------------------------------------------------------------------
    async def _analyse_forever(self) -> None:
        assert self._slot
        loop = asyncio.get_running_loop()
        analyzer: Analyzer | None = None
        rule = AlertRule(self.cfg.name, self.cfg.threshold, self.cfg.alert_seconds)
        rate = AdaptiveRate(self.cfg.fps, self.cfg.floor_fps)
        generation, next_due = 0, 0.0
        try:
            while (item := await self._slot.get()) is not None:
                gen, av_frame, decoded_at = item
                now = time.monotonic()
                if now < next_due - 0.2 * rate.interval:  # a little early still counts: sources jitter
                    self.stats.frames_skipped += 1
                    continue
                next_due = max(next_due + rate.interval, now - rate.interval)
                if analyzer is None:
                    make = partial(Analyzer, self.model, source="rtsp", keep_summaries=64)
                    analyzer = await loop.run_in_executor(self._executor, make)
                if gen != generation:  # a new connection: timestamps restart, tracks cannot carry over
                    analyzer.reset()
                    generation = gen
                    rule.reset()
                result, alerts = await loop.run_in_executor(self._executor, self._analyse, analyzer, rule, av_frame)
                self.stats.target_fps = rate.update(time.monotonic() - now)
                self._publish(result, alerts, time.perf_counter() - decoded_at)
        finally:
            if analyzer:
                await loop.run_in_executor(self._executor, analyzer.close)

    def _analyse(self, analyzer: Analyzer, rule: AlertRule, av_frame: av.VideoFrame) -> tuple[FrameResult, list[Alert]]:
        image = av_frame.to_ndarray(format="rgb24")
        pts = float(av_frame.time) if av_frame.time is not None else time.monotonic()
        result = analyzer.process(Frame(image, pts, analyzer.frames))
        if self.on_frame:
            self.on_frame(self.cfg.name, image)
        return result, rule.check(result, image)

    def _publish(self, result: FrameResult, alerts: list[Alert], latency: float) -> None:
        """``latency``: seconds from the frame leaving the decoder to its result."""
        assert self._slot
        self.stats.frames_analysed += 1
        self.stats.frames_dropped = self._slot.dropped
        self.stats.latency_ms = round(latency * 1000, 1)
        self.stats.latest = result.to_dict()
        self.emit({"type": "result", "stream": self.cfg.name, **self.stats.latest,
                   "latency_ms": self.stats.latency_ms})
        for alert in alerts:
            self.stats.alerts += 1
            if self.on_alert:
                self.on_alert(alert)
            self.emit({"type": "alert", **alert.to_dict()})

    def _set_status(self, status: str, force: bool = False) -> None:
        if status == self.stats.status and not force:
            return
        self.stats.status = status
        event = {"type": "status", "stream": self.cfg.name, "status": status, "error": self.stats.error,
                 "time": time.time()}
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop or self._loop is None:
            self.emit(event)
        else:
            try:
                self._loop.call_soon_threadsafe(self.emit, event)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                pass

    def snapshot(self) -> dict:
        s = self.stats
        return {**self.cfg.to_dict(), "status": s.status, "error": s.error, "connects": s.connects,
                "reconnects": s.reconnects, "frames_in": s.frames_in, "frames_analysed": s.frames_analysed,
                "frames_dropped": s.frames_dropped, "frames_skipped": s.frames_skipped,
                "target_fps": round(s.target_fps, 2), "latency_ms": s.latency_ms,
                "last_frame_at": s.last_frame_at, "alerts": s.alerts,
                "latest": s.latest}


def _describe(exc: av.error.FFmpegError, got_frames: bool, quiet: float, cfg: StreamConfig) -> str:
    """The user-facing reason for a failed attempt; ``quiet``: seconds without a frame before the error."""
    text = exc.strerror or str(exc)
    if got_frames and quiet >= 0.9 * cfg.stall_seconds:
        return f"stalled: no data for {cfg.stall_seconds:g} s ({text})"
    if not got_frames and quiet >= 0.9 * cfg.connect_timeout:
        return f"no answer within the {cfg.connect_timeout:g} s timeout ({text})"
    return text
