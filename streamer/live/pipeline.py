"""The one live pipeline every source runs: decoded frames -> latest-frame slot -> analysis -> sinks.

A source (a WebRTC track, an RTSP reader thread, a WHIP push, a cluster worker) calls ``offer`` with
each decoded frame, on its own thread: the frame waits in the stream's one-frame ``LatestSlot`` (a newer
one replaces it, counted as dropped), never in a queue shared with other streams. Conversion to RGB, the
analysis and the sinks' ``on_frame`` run on the pipeline's own worker thread, so a slow analysis drops
frames (counted) instead of stalling the source, and a stream's backlog is its own. Sinks' ``on_result``
run on the event loop.

Every error of a frame's analysis (analyzer creation, analysis) is caught in ``_run``: it is counted in
``frames_failed`` and the ``dfs_analysis_errors`` metric, and turns the status to ``degraded`` with the
reason; the next frame that goes through turns it back to ``live``. Each sink call is fenced on its own: a
sink that raises is counted (``dfs_sink_errors_total{sink}``) and logged, and the frame still reaches every
other sink. Nothing stops silently.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import av

from ..core.analyzer import EVERY_FRAME, LIVE, Analyzer, FrameResult, Sampling
from .handoff import LatestSlot
from ..runtime.metrics import ANALYSIS_ERRORS, SINK_ERRORS
from .rate import AdaptiveRate
from ..media.video import Frame, frame_time
from .status import ENDED, Status

log = logging.getLogger(__name__)
THREAD_PREFIX = "dfs-pipeline"
# MediaPipe set-up, first detection and close silence fd 2 by swapping it process-wide (dup2); two
# pipelines doing that at once could leave stderr pointing at /dev/null. One at a time, then.
NATIVE_SETUP = threading.Lock()
EARLY = 0.2  # a frame this share of an interval early still counts as due: sources jitter
LOGGED_SINK_ERRORS = frozenset(10 ** n for n in range(9))  # a sink failing on every frame: its 1st, 10th, 100th... failure


_sampling: Sampling = LIVE  # the process's live sampling (serve/monitor --live-every-frame)


def set_live_every_frame(every_frame: bool) -> None:
    """Live streams of this process detect and encode every analysed frame (True) or sample as ``LIVE`` does."""
    global _sampling
    _sampling = EVERY_FRAME if every_frame else LIVE


def live_analyzer(model, kind: str, threshold: float | None = None) -> Analyzer:
    """The analysis of every live stream: the newest track summaries only, the stream's own threshold when it
    has one, and the process's live sampling (faces detected every few frames and followed between; a track's
    face encoded every few frames, the frames between carrying its score, marked ``carried``)."""
    return Analyzer(model, source=kind, keep_summaries=64, threshold=threshold, sampling=_sampling)


@dataclass
class Incoming:
    frame: av.VideoFrame
    generation: int  # a new connection to the source: timestamps restart, tracks cannot carry over
    index: int  # the frame's position among the frames this generation delivered (drops included)
    pts: float  # seconds
    at: float  # perf_counter() when the frame left the decoder
    wall: float  # the same moment on the wall clock, for the page's latency breakdown
    rtp: int | None = None  # the frame's RTP timestamp as sent, when known


@dataclass
class Analysed:
    """One frame's outcome, handed to every sink."""
    incoming: Incoming
    result: FrameResult
    frame: Frame  # its RGB ``image`` is converted on first use
    wait_ms: float  # in the slot and the worker's queue
    process_ms: float  # conversion and analysis
    alerts: list = field(default_factory=list)  # filled by an alert sink's on_frame

    @property
    def latency_ms(self) -> float:
        """Decoder to result."""
        return round(self.wait_ms + self.process_ms, 1)


class Sink:
    """A consumer of analysed frames; override what you need."""

    def on_frame(self, out: Analysed) -> None:
        """On the pipeline's worker thread, right after the analysis (the image is at hand)."""

    def on_result(self, out: Analysed) -> None:
        """On the event loop, after every sink's ``on_frame``."""

    def reset(self) -> None:
        """The source reconnected: forget per-track state."""


@dataclass
class PipelineStats:
    """The counters every live source reports, under these names, in its API and in /metrics."""
    frames_in: int = 0
    frames_dropped: int = 0  # replaced in the slot by a newer frame while the analysis was busy
    frames_skipped: int = 0  # not needed to keep the analysis rate
    frames_analysed: int = 0
    frames_failed: int = 0  # their analysis raised
    alerts: int = 0
    analysed_fps: float = 0.0  # over the last two seconds
    target_fps: float = 0.0
    latency_ms: float = 0.0  # decoder to result, of the last analysed frame

    COUNTERS = ("frames_in", "frames_dropped", "frames_skipped", "frames_analysed", "frames_failed", "alerts")

    def to_dict(self) -> dict:
        return asdict(self)


StatusHook = Callable[[Status, str | None], None]


class Pipeline:
    def __init__(self, name: str, kind: str, analyzer_factory: Callable[[], Analyzer],
                 sinks: list[Sink] | tuple[Sink, ...] = (), rate: AdaptiveRate | None = None,
                 on_status: StatusHook | None = None):
        self.name, self.kind = name, kind
        self.sinks = list(sinks)
        self.stats = PipelineStats(target_fps=rate.target if rate else 0.0)
        self.latest: dict | None = None  # the last analysed frame's result
        self.last_frame_at: float | None = None  # wall clock of the last frame offered
        self._factory = analyzer_factory
        self._rate = rate
        self._on_status = on_status
        self._source_status = Status.CONNECTING
        self._source_error: str | None = None
        self._fault: str | None = None  # why the last frame's analysis failed; None when it went through
        self._shown: tuple[Status, str | None] | None = None
        self._slot: LatestSlot[Incoming] = LatestSlot()
        self._sink_errors: Counter[str] = Counter()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{THREAD_PREFIX}-{kind}-{name}")
        self._analyzer: Analyzer | None = None
        self._generation = 0
        self._index = 0
        self._origin = 0.0  # perf_counter() of the generation's first frame: the clock of frames without pts
        self._done: deque[float] = deque(maxlen=64)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._closed = False

    # -- status ----------------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        if self._fault and self._source_status == Status.LIVE:
            return Status.DEGRADED
        return self._source_status

    @property
    def error(self) -> str | None:
        return self._fault if self.status == Status.DEGRADED else self._source_error

    def set_source_status(self, status: Status, error: str | None = None) -> None:
        """What the source says of itself (connecting, live, stalled...); callable from any thread."""
        if self._loop is not None and not self._on_loop():
            self._call_soon(self.set_source_status, status, error)
            return
        if self._source_status in ENDED and status != Status.STOPPED:
            return
        if status == Status.STOPPED and error is None:
            error = self._source_error  # why it had ended, if it had
        self._source_status, self._source_error = status, error
        self._announce()

    def _set_fault(self, fault: str | None) -> None:
        self._fault = fault
        self._announce()

    def _announce(self, force: bool = False) -> None:
        shown = (self.status, self.error)
        if shown == self._shown and not force:
            return
        self._shown = shown
        if self._on_status:
            self._on_status(*shown)

    # -- frames in -------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._slot.bind(self._loop)
        self._task = self._loop.create_task(self._run(), name=f"{self.name}-pipeline")
        self._announce(force=True)

    def offer(self, frame: av.VideoFrame, generation: int = 0, rtp: int | None = None) -> None:
        """Hand over a decoded frame, from the source's one thread (the event loop's or a reader's)."""
        now = time.perf_counter()
        if generation != self._generation or self.stats.frames_in == 0:
            self._generation, self._index, self._origin = generation, 0, now
        index, self._index = self._index, self._index + 1
        self.stats.frames_in += 1
        self.last_frame_at = time.time()
        if self._source_status != Status.LIVE and self._source_status not in ENDED:
            self.set_source_status(Status.LIVE)
        self._slot.put(Incoming(frame, generation, index, frame_time(frame, now - self._origin), now,
                                self.last_frame_at, rtp))
        self.stats.frames_dropped = self._slot.dropped

    def offer_threadsafe(self, frame: av.VideoFrame, generation: int = 0) -> bool:
        """``offer`` from a reader thread; False once the loop has gone."""
        assert self._loop is not None, "start() first"
        if self._loop.is_closed():
            return False
        try:
            self.offer(frame, generation)
        except RuntimeError:  # the loop closed while the frame was handed over
            return False
        return True

    def end(self) -> None:
        """The source has no more frames (the analysis of what is in the slot still finishes)."""
        self._slot.close()

    # -- analysis --------------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_due, generation = 0.0, -1
        while (item := await self._slot.get()) is not None:
            now = time.monotonic()
            if self._rate is not None:
                if now < next_due - EARLY * self._rate.interval:
                    self.stats.frames_skipped += 1
                    continue
                next_due = max(next_due + self._rate.interval, now - self._rate.interval)
            new_connection = item.generation != generation
            generation = item.generation
            try:
                out = await loop.run_in_executor(self._executor, self._analyse, item, new_connection)
                self._publish(out)
            except Exception as exc:  # the one place a frame's failure is caught, counted and shown
                self._failed(exc)
                continue
            if self._rate is not None:
                self.stats.target_fps = self._rate.update(time.monotonic() - now)

    def _analyse(self, item: Incoming, new_connection: bool) -> Analysed:
        """Runs on the worker thread."""
        started = time.perf_counter()
        if self._analyzer is None:
            with NATIVE_SETUP:
                self._analyzer = self._factory()
        if new_connection:
            self._analyzer.reset()
            self._to_sinks("reset")
        frame = Frame.decoded(item.frame, item.pts, item.index)
        result = self._analyzer.process(frame)
        done = time.perf_counter()
        out = Analysed(item, result, frame, round((started - item.at) * 1000, 2), round((done - started) * 1000, 2))
        self._to_sinks("on_frame", out)
        return out

    def _publish(self, out: Analysed) -> None:
        s = self.stats
        s.frames_analysed += 1
        s.alerts += len(out.alerts)
        s.latency_ms = out.latency_ms
        self._done.append(time.perf_counter())
        s.analysed_fps = round(self.fps(), 2)
        self.latest = out.result.to_dict()
        self._to_sinks("on_result", out)
        if self._fault:
            log.info("%s %s: analysis recovered", self.kind, self.name)
            self._set_fault(None)

    def _to_sinks(self, call: str, *args: Analysed) -> None:
        """``call`` on every sink; one that raises costs no other sink its frame."""
        for sink in self.sinks:
            try:
                getattr(sink, call)(*args)
            except Exception as exc:  # counted and logged per sink; the others still run
                name = type(sink).__name__
                SINK_ERRORS.labels(name).inc()
                self._sink_errors[name] += 1
                if self._sink_errors[name] in LOGGED_SINK_ERRORS:
                    log.warning("%s %s: sink %s.%s failed (%d so far): %s: %s", self.kind, self.name, name, call,
                                self._sink_errors[name], type(exc).__name__, exc)

    def _failed(self, exc: Exception) -> None:
        self.stats.frames_failed += 1
        ANALYSIS_ERRORS.labels(self.kind).inc()
        reason = f"analysis failed: {type(exc).__name__}: {exc}"[:300]
        if self._fault is None:  # once per episode in the log and the events, every time in the counters
            log.error("%s %s: %s", self.kind, self.name, reason, exc_info=exc)
            self._set_fault(reason)

    def fps(self, now: float | None = None) -> float:
        """Analysed frames per second over the last two seconds."""
        now = time.perf_counter() if now is None else now
        recent = [t for t in list(self._done) if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def snapshot(self) -> dict:
        """Status and counters, JSON-ready, under the names /metrics uses too."""
        self.stats.analysed_fps = round(self.fps(), 2)
        return {"status": str(self.status), "error": self.error, **self.stats.to_dict()}

    # -- shut-down -------------------------------------------------------------------------------
    @property
    def task(self) -> asyncio.Task | None:
        return self._task

    async def close(self) -> None:
        """Stop the analysis, close the analyzer on its own thread and let the thread end; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._slot.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_analyzer)
        finally:
            self._executor.shutdown(wait=False)
        self.set_source_status(Status.STOPPED)

    def _close_analyzer(self) -> None:
        if self._analyzer is not None:
            with NATIVE_SETUP:
                self._analyzer.close()
            self._analyzer = None

    # -- threads ---------------------------------------------------------------------------------
    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _call_soon(self, fn: Callable, *args: object) -> bool:
        assert self._loop is not None, "start() first"
        try:
            self._loop.call_soon_threadsafe(fn, *args)
            return True
        except RuntimeError:  # the loop has closed: nobody is listening any more
            return False


class RunsPipeline:
    """For a source that owns a ``pipeline``: its counters and status, read through."""
    pipeline: Pipeline

    @property
    def stats(self) -> PipelineStats:
        return self.pipeline.stats

    @property
    def status(self) -> Status:
        return self.pipeline.status

    @property
    def error(self) -> str | None:
        return self.pipeline.error
