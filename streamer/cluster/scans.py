"""Archive scans on Ray: every segment of every file a task; one progress board; results stitched here.

Files are read by the nodes where the tasks run, so they must be at the same path on every node
(shared storage); the model travels once through Ray's object store and is cached per worker process.
"""
from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path

from ..core.faces.detector import configured_mode, set_default_mode
from ..files.segments import Segment, SegmentResult, scan_segment
from ..runtime.logs import filter_native_logs
from ..runtime.opencv import one_opencv_thread
from . import compat
from .models import load, model_blob

POLL_SECONDS = 0.25
ENDED_JOBS = 256  # ended jobs the board remembers, so that a failed job's late segments do not bring it back
_task = None
_board = None


def _scan_task(blob: dict[str, bytes], path: str, segment: Segment, board, job: int,
               detector: str | None = None) -> SegmentResult:
    filter_native_logs()
    one_opencv_thread()
    if detector:
        set_default_mode(detector)  # the driver's --detector
    result = scan_segment(path, segment, load(blob), lambda n, s, f: board.report.remote(job, n, s, f))
    result.node = compat.node_id()
    return result


class _Board:
    """Progress of running segments: (job, segment) -> (seconds done, frames)."""

    def __init__(self):
        self.done: dict[tuple[int, int], tuple[float, int]] = {}
        self.ended: deque[int] = deque(maxlen=ENDED_JOBS)  # jobs forgotten, whose segments may still report

    def report(self, job: int, number: int, seconds: float, frames: int) -> None:
        if job not in self.ended:
            self.done[(job, number)] = (seconds, frames)

    def snapshot(self, job: int) -> dict[int, tuple[float, int]]:
        return {n: v for (j, n), v in self.done.items() if j == job}

    def forget(self, job: int) -> None:
        self.ended.append(job)
        for key in [k for k in self.done if k[0] == job]:
            del self.done[key]


def _remotes():
    global _task, _board
    if _task is None:
        ray = compat.ray()
        _task = ray.remote(num_cpus=1, max_retries=3)(_scan_task)
        _board = ray.remote(num_cpus=0)(_Board)
    return _task, _board


class RayScans:
    """A segment runner (see ``segments.scan_parallel``) backed by a Ray cluster."""

    def __init__(self, address: str, model_dir: Path | str):
        self._ray = compat.connect(address)
        task, board = _remotes()
        self._task = task
        self._blob = self._ray.put(model_blob(model_dir))
        self._board = board.remote()
        self._jobs = itertools.count(1)
        self.parts = compat.cpus()

    def run(self, path: Path, segments: list[Segment], progress=None) -> list[SegmentResult]:
        ray, job = self._ray, next(self._jobs)
        mode = configured_mode()
        refs = {self._task.remote(self._blob, str(Path(path).resolve()), s, self._board, job, mode): s
                for s in segments}
        done: dict = {}
        try:
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
                for ref in ready:
                    done[ref] = ray.get(ref)
                if progress:
                    progress(*self._totals(job, refs, done))
        finally:
            # When a segment fails, the others are left to finish and their results dropped, not cancelled:
            # cancelling a task as it completes crashes this driver inside Ray ("Tried to complete task that
            # was not pending", ray-project/ray#54846), and a server's driver with it.
            self._board.forget.remote(job)
        return [done[ref] for ref in refs]

    def _totals(self, job: int, refs: dict, done: dict) -> tuple[float, int]:
        board = self._ray.get(self._board.snapshot.remote(job))
        seconds, frames = 0.0, 0
        for ref, segment in refs.items():
            s, n = (segment.seconds, len(done[ref].frames)) if ref in done else board.get(segment.number, (0.0, 0))
            seconds, frames = seconds + s, frames + n
        return seconds, frames

    def close(self) -> None:
        self._ray.kill(self._board)
