"""One inference service per process: crops and windows from every stream, micro-batched.

Analyzers on many threads call ``encode``/``temporal`` as if they owned the model; a single worker
thread gathers what arrives within ``max_wait`` seconds (at most ``max_batch`` items), runs one
ONNX Runtime call per kind, and hands each caller its slice. It stops waiting as soon as every
caller seen in the last half second has a request in, so a lone stream pays no batching delay.

ONNX Runtime's memory arena keeps what its biggest call needed for the life of the process, growing in
steps as bigger batches first turn up (a memory rise that looks like a leak in a soak). So the service
runs the model on at most ``max_batch`` items at a time, and ``warm`` (at start) runs that size, which
sizes the arena once, before the streams start.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from .model import Manifest, Model


@dataclass
class _Request:
    kind: str  # "encode" | "temporal"
    data: np.ndarray
    caller: int = 0
    future: Future = field(default_factory=Future)


@dataclass
class BatchStats:
    calls: int = 0
    items: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def add(self, size: int) -> None:
        self.calls += 1
        self.items += size
        self.sizes[size] = self.sizes.get(size, 0) + 1

    @property
    def mean(self) -> float:
        return self.items / self.calls if self.calls else 0.0


MAX_BATCH = 8  # items per model call: per-crop CPU as low as at 16 (and below 32), arena a quarter


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class BatchedModel:
    """A drop-in for ``Model`` shared by many analyzers; thread-safe."""

    def __init__(self, model: Model, max_batch: int = MAX_BATCH, max_wait: float = 0.005, on_batch=None,
                 warm: bool = True):
        self.model, self.max_batch, self.max_wait = model, max_batch, max_wait
        self.manifest: Manifest = model.manifest
        self.stats = {"encode": BatchStats(), "temporal": BatchStats()}
        self._on_batch = on_batch
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._callers: dict[int, float] = {}  # thread id -> last request time
        if warm:
            self.warm()
        self._thread = threading.Thread(target=self._serve, name="dfs-inference", daemon=True)
        self._thread.start()

    def warm(self) -> None:
        """Two calls of each kind at ``max_batch`` (ONNX Runtime plans a shape's memory on its first call and
        allocates the planned block from the second on): the arena reaches its final size now."""
        m = self.manifest
        for _ in range(2):
            self.model.encode(np.zeros((self.max_batch, m.input_size, m.input_size, 3), np.uint8))
            self.model.temporal(np.zeros((self.max_batch, m.window, m.embedding_dim), np.float32))

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._submit("encode", crops)

    def temporal(self, windows: np.ndarray) -> np.ndarray:
        return self._submit("temporal", windows)

    def _submit(self, kind: str, data: np.ndarray):
        if len(data) == 0:
            return getattr(self.model, kind)(data)
        if not self._thread.is_alive():
            raise RuntimeError("the inference service is closed")
        request = _Request(kind, data, threading.get_ident())
        self._callers[request.caller] = time.perf_counter()
        self._queue.put(request)
        return request.future.result()

    def _serve(self) -> None:
        while (first := self._queue.get()) is not None:
            pending = {"encode": [], "temporal": []}
            pending[first.kind].append(first)
            deadline = time.perf_counter() + self.max_wait
            stop = self._gather(pending, deadline)
            for kind, requests in pending.items():
                if requests:
                    self._run(kind, requests)
            if stop:
                break

    def _active_callers(self) -> int:
        now = time.perf_counter()
        for caller, seen in list(self._callers.items()):
            if now - seen > 0.5:
                self._callers.pop(caller, None)
        return len(self._callers)

    def _gather(self, pending: dict[str, list[_Request]], deadline: float) -> bool:
        """Collect more requests until the deadline, a full batch, or every active caller is in."""
        expected = self._active_callers()
        while True:
            counts = {k: sum(len(r.data) for r in v) for k, v in pending.items()}
            waiting = {r.caller for v in pending.values() for r in v}
            if max(counts.values()) >= self.max_batch or len(waiting) >= expected:
                return False
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            try:
                request = self._queue.get(timeout=left)
            except queue.Empty:
                return False
            if request is None:
                return True
            pending[request.kind].append(request)

    def _call(self, kind: str, batch: np.ndarray):
        """The model on ``batch``, in slices of at most ``max_batch`` (a request may hold several items)."""
        run = getattr(self.model, kind)
        if len(batch) <= self.max_batch:
            return run(batch)
        parts = [run(batch[i:i + self.max_batch]) for i in range(0, len(batch), self.max_batch)]
        if isinstance(parts[0], tuple):
            return tuple(np.concatenate(p) for p in zip(*parts))
        return np.concatenate(parts)

    def _run(self, kind: str, requests: list[_Request]) -> None:
        batch = np.concatenate([r.data for r in requests])
        try:
            out = self._call(kind, batch)
        except Exception as exc:
            for r in requests:
                r.future.set_exception(exc)
            return
        self.stats[kind].add(len(batch))
        if self._on_batch:
            self._on_batch(kind, len(batch))
        start = 0
        for r in requests:
            end = start + len(r.data)
            r.future.set_result(tuple(o[start:end] for o in out) if isinstance(out, tuple) else out[start:end])
            start = end

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
