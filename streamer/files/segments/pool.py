"""Local worker processes for segment scans: each loads its own model and detector, one thread each.

Processes are spawned (never forked: the server and ONNX Runtime run threads), started once and kept
for many scans. Scans running at once share the workers through a fair queue: a segment is handed to a
worker only when one is free, to the scan with the fewest segments running. Workers report progress
through one queue; a scan is called off through a shared list of cancelled job ids that workers check
between frames, and its segments still waiting are dropped.
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
from concurrent.futures import FIRST_EXCEPTION, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

from ...core.faces.detector import configured_mode, set_default_mode
from ...core.model import Model
from ...runtime.logs import filter_native_logs
from ...runtime.opencv import one_opencv_thread
from .fair import FairQueue
from .plan import Segment
from .worker import Cancelled, SegmentResult, scan_segment

CANCEL_SLOTS = 64
POLL_SECONDS = 0.2

_model: Model | None = None
_queue = None
_cancelled = None


def _init(model_dir: str, queue, cancelled, detector: str | None) -> None:
    global _model, _queue, _cancelled
    filter_native_logs()
    one_opencv_thread()
    if detector:
        set_default_mode(detector)  # the parent's --detector: a segment is scanned as the whole file would be
    _model, _queue, _cancelled = Model(model_dir, threads=1), queue, cancelled
    queue.put(("ready", 0, 0.0, 0))


def _task(job: int, path: str, segment: Segment) -> SegmentResult:
    assert _model is not None and _queue is not None and _cancelled is not None
    return scan_segment(path, segment, _model, lambda n, s, f: _queue.put((job, n, s, f)),
                        lambda: job in _cancelled[:])


def _nothing() -> None:
    return None


class SegmentPool:
    """``workers`` processes scanning segments of any number of files, for the life of the pool; thread-safe."""

    def __init__(self, model_dir: Path | str, workers: int):
        self.model_dir, self.workers = str(model_dir), max(1, workers)
        self._ctx = mp.get_context("spawn")
        self._queue = self._ctx.Queue()
        self._cancelled = self._ctx.Array("q", CANCEL_SLOTS, lock=False)
        self._jobs = itertools.count(1)
        self._progress: dict[tuple[int, int], tuple[float, int]] = {}
        self._ready = threading.Semaphore(0)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.RLock()  # a done callback may run at once, in the thread that submitted
        self._waiting: FairQueue[tuple[Future, str, Segment]] = FairQueue()
        self._busy = 0  # segments handed to the workers and not finished
        self._closed = False
        self._drain = threading.Thread(target=self._read_reports, name="dfs-segment-progress", daemon=True)
        self._drain.start()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_init,
                                                     initargs=(self.model_dir, self._queue, self._cancelled,
                                                               configured_mode()))
            return self._executor

    def warm(self, timeout: float = 120.0) -> None:
        """Start every worker and wait until each has loaded its model."""
        pool = self._pool()
        for future in [pool.submit(_nothing) for _ in range(self.workers)]:
            future.result(timeout)
        for _ in range(self.workers):
            self._ready.acquire(timeout=timeout)

    def _read_reports(self) -> None:
        while (message := self._queue.get()) is not None:
            job, number, seconds, frames = message
            if job == "ready":
                self._ready.release()
            else:
                self._progress[(job, number)] = (seconds, frames)

    def cancel(self, job: int) -> None:
        self._cancelled[job % CANCEL_SLOTS] = job

    def run(self, path: Path | str, segments: list[Segment], progress=None) -> list[SegmentResult]:
        """Scan ``segments`` of one file in parallel; ``progress(seconds, frames)`` as the whole scan goes."""
        job = next(self._jobs)
        futures: dict[Future, Segment] = {Future(): s for s in segments}
        with self._lock:
            if self._closed:
                raise RuntimeError("the scan workers were stopped")
            self._waiting.put(job, [(f, str(path), s) for f, s in futures.items()])
        self._dispatch()
        try:
            return self._collect(job, futures, progress)
        except BaseException:
            self.cancel(job)
            with self._lock:
                self._waiting.drop(job)
            for future in futures:
                future.cancel()
            raise
        finally:
            for s in segments:
                self._progress.pop((job, s.number), None)

    def _dispatch(self) -> None:
        """Hand waiting segments to free workers, fairly between scans."""
        with self._lock:
            while not self._closed and self._busy < self.workers and (item := self._waiting.pop()) is not None:
                job, (outer, path, segment) = item
                if not outer.set_running_or_notify_cancel():
                    self._waiting.done(job)
                    continue
                try:
                    inner = self._pool().submit(_task, job, path, segment)
                except BrokenProcessPool:
                    self._reset()
                    inner = self._pool().submit(_task, job, path, segment)
                self._busy += 1
                inner.add_done_callback(partial(self._finished, job, outer))

    def _finished(self, job: int, outer: Future, inner: Future) -> None:
        with self._lock:
            self._busy -= 1
            self._waiting.done(job)
        try:
            outer.set_result(inner.result())
        except CancelledError:  # the pool was shut down with this segment still in its queue
            outer.set_exception(RuntimeError("the scan workers were stopped"))
        except BaseException as exc:
            outer.set_exception(exc)
        self._dispatch()

    def _collect(self, job: int, futures: dict[Future, Segment], progress) -> list[SegmentResult]:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
            for future in done:
                try:
                    future.result()
                except BrokenProcessPool as exc:
                    self._reset()
                    raise RuntimeError("a scan worker process died") from exc
                except Cancelled:
                    raise RuntimeError("the scan was cancelled") from None
            if progress:
                progress(*self._totals(job, futures, pending))
        return [f.result() for f in futures]

    def _totals(self, job: int, futures: dict[Future, Segment], pending: set[Future]) -> tuple[float, int]:
        seconds, frames = 0.0, 0
        for future, segment in futures.items():
            if future in pending:
                s, n = self._progress.get((job, segment.number), (0.0, 0))
            else:
                s, n = segment.seconds, len(future.result().frames)
            seconds, frames = seconds + s, frames + n
        return seconds, frames

    def _reset(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        with self._lock:  # shut down outside the lock: the executor's thread takes it in done callbacks
            self._closed = True
            executor, self._executor = self._executor, None
            while (item := self._waiting.pop()) is not None:
                outer = item[1][0]
                if outer.set_running_or_notify_cancel():
                    outer.set_exception(RuntimeError("the scan workers were stopped"))
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._queue.put(None)
        self._drain.join(timeout=5)
