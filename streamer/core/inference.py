"""One inference service per process: crops and windows from every stream, micro-batched, on every core.

Analyzers on many threads call ``encode``/``temporal`` as if they owned the model. ``threads`` worker
threads (one per core by default) each gather a batch of one kind and run it, so the model runs on as many
cores at once as there are batches to run. A worker waits up to ``max_wait`` seconds for a batch to fill
(at most ``max_batch`` items), and not at all once every caller seen in the last half second has a request
in or is being served, so a lone stream pays no batching delay.

Batches are filled fairly: each caller's request waits in its own queue, and a batch takes one item from
each waiting caller in turn, the callers served least recently first. A frame with many faces is spread
over several batches, never ahead of another stream's one face: one stream's backlog does not slow the
others. Each caller has one request at a time (the call blocks), so the queues are bounded by the callers.

ONNX Runtime's memory arena keeps what its biggest call needed for the life of the process, growing in
steps as bigger batches first turn up (a memory rise that looks like a leak in a soak). So the service
runs the model on at most ``max_batch`` items at a time, and ``warm`` (at start) runs that size on every
worker thread at once, which sizes the arena once, before the streams start.

On a GPU (the CUDA provider) the service has one worker thread, whatever ``threads`` says, and the model runs
every batch at one size (``Model.fixed_batch``): on an H200, batches of changing sizes stalled for seconds, and
through one thread 20 live streams in one process used 0.15 of a core for all their inference.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from .model import CUDA, Manifest, Model



@dataclass
class _Request:
    kind: str  # one of KINDS
    data: np.ndarray
    caller: int = 0
    at: float = 0.0  # perf_counter() when it came in
    future: Future = field(default_factory=Future)
    outputs: list | None = None  # per output of the model: the request's result array, filled batch by batch
    left: int = 0  # items not yet computed


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


KINDS = ("encode", "encode_full", "temporal")  # encode_full: encode plus the heatmap (file scans)
MAX_BATCH = 8  # items per model call: per-crop CPU as low as at 16 (and below 32), arena a quarter


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class BatchedModel:
    """A drop-in for ``Model`` shared by many analyzers; thread-safe."""

    def __init__(self, model: Model, max_batch: int = MAX_BATCH, max_wait: float = 0.005, on_batch=None,
                 warm: bool = True, threads: int | None = None):
        self.model, self.max_batch, self.max_wait = model, max_batch, max_wait
        self.manifest: Manifest = model.manifest
        self.stats = {kind: BatchStats() for kind in KINDS}
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._waiting: dict[str, OrderedDict[int, deque[tuple[_Request, int]]]] = {k: OrderedDict() for k in KINDS}
        self._serving: dict[int, int] = {}  # callers in a batch being run -> how many of their items
        self._callers: dict[int, float] = {}  # thread id -> last request time
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, name=f"dfs-inference-{i}", daemon=True)
                         for i in range(1 if model.provider == CUDA else threads or default_threads())]
        if warm:
            self.warm()
        for thread in self._threads:
            thread.start()

    @property
    def threads(self) -> int:
        """How many worker threads run batches."""
        return len(self._threads)

    @property
    def dir(self):
        """The model's directory (what worker processes load)."""
        return self.model.dir

    def warm(self) -> None:
        """Two calls of each kind at ``max_batch`` on every worker thread at once (ONNX Runtime plans a shape's
        memory on its first call and allocates the planned block from the second on): the arena reaches its
        final size now."""
        m = self.manifest

        def calls() -> None:
            for _ in range(2):
                self.model.encode(np.zeros((self.max_batch, m.input_size, m.input_size, 3), np.uint8))
                self.model.temporal(np.zeros((self.max_batch, m.window, m.embedding_dim), np.float32))

        warmers = [threading.Thread(target=calls) for _ in self._threads]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._submit("encode", crops)

    @property
    def heatmap_size(self) -> int | None:
        return self.model.heatmap_size

    def encode_full(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if self.model.heatmap_size is None:
            return (*self.encode(crops), None)
        return self._submit("encode_full", crops)

    def temporal(self, windows: np.ndarray) -> np.ndarray:
        return self._submit("temporal", windows)

    # -- callers ---------------------------------------------------------------------------------
    def _submit(self, kind: str, data: np.ndarray):
        if len(data) == 0:
            return getattr(self.model, kind)(data)
        request = _Request(kind, data, threading.get_ident(), time.perf_counter(), left=len(data))
        with self._cond:
            if self._closed:
                raise RuntimeError("the inference service is closed")
            self._callers[request.caller] = request.at
            queue = self._waiting[kind].setdefault(request.caller, deque())
            queue.extend((request, i) for i in range(len(data)))
            self._cond.notify()
        return request.future.result()

    # -- worker threads --------------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._cond:
                kind = self._next_kind()
                while kind is None and not self._closed:
                    self._cond.wait()
                    kind = self._next_kind()
                if kind is None:
                    return
                self._gather(kind)
                items = self._take(kind)  # none when another worker took them meanwhile
                if not items:
                    continue
                for request, _ in items:
                    self._serving[request.caller] = self._serving.get(request.caller, 0) + 1
            try:
                self._run(kind, items)
            finally:
                with self._cond:
                    for request, _ in items:
                        left = self._serving[request.caller] - 1
                        if left:
                            self._serving[request.caller] = left
                        else:
                            del self._serving[request.caller]
                    self._cond.notify_all()  # a worker waiting for callers may now have them all

    def _next_kind(self) -> str | None:
        """The kind whose oldest waiting request is the oldest."""
        heads = [(next(iter(q.values()))[0][0].at, kind) for kind, q in self._waiting.items() if q]
        return min(heads)[1] if heads else None

    def _gather(self, kind: str) -> None:
        """Wait (with the lock) for more of ``kind`` until the deadline, a full batch, or every active caller is
        waiting or being served."""
        deadline = time.perf_counter() + self.max_wait
        while not self._closed:
            waiting = self._waiting[kind]
            if sum(len(q) for q in waiting.values()) >= self.max_batch:
                return
            present = set(self._serving).union(*(q.keys() for q in self._waiting.values()))
            if len(present) >= self._active_callers():
                return
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._cond.wait(left)

    def _active_callers(self) -> int:
        now = time.perf_counter()
        for caller, seen in list(self._callers.items()):
            if now - seen > 0.5:
                self._callers.pop(caller, None)
        return len(self._callers)

    def _take(self, kind: str) -> list[tuple[_Request, int]]:
        """Up to ``max_batch`` items, one per waiting caller in turn; the callers served go to the back."""
        waiting = self._waiting[kind]
        items: list[tuple[_Request, int]] = []
        served: list[int] = []
        while waiting and len(items) < self.max_batch:
            for caller in list(waiting):
                if len(items) == self.max_batch:
                    break
                queue = waiting[caller]
                items.append(queue.popleft())
                if caller not in served:
                    served.append(caller)
                if not queue:
                    del waiting[caller]
        for caller in served:
            if caller in waiting:
                waiting.move_to_end(caller)
        return items

    def _run(self, kind: str, items: list[tuple[_Request, int]]) -> None:
        batch = np.stack([request.data[i] for request, i in items])
        try:
            out = getattr(self.model, kind)(batch)
        except Exception as exc:
            for request in {id(r): r for r, _ in items}.values():
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        self.stats[kind].add(len(batch))
        if self._on_batch:
            self._on_batch(kind, len(batch))
        outputs = out if isinstance(out, tuple) else (out,)
        done = []
        with self._cond:
            for row, (request, i) in enumerate(items):
                if request.future.done():  # an earlier part failed
                    continue
                if request.outputs is None:
                    request.outputs = [np.empty((len(request.data), *o.shape[1:]), o.dtype) for o in outputs]
                for target, o in zip(request.outputs, outputs):
                    target[i] = o[row]
                request.left -= 1
                if request.left == 0:
                    done.append(request)
        for request in done:
            result = tuple(request.outputs) if isinstance(out, tuple) else request.outputs[0]
            request.future.set_result(result)

    def close(self) -> None:
        """Stop the workers; a request still waiting gets an error."""
        with self._cond:
            self._closed = True
            left = [r for q in self._waiting.values() for items in q.values() for r, _ in items]
            for q in self._waiting.values():
                q.clear()
            self._cond.notify_all()
        for request in {id(r): r for r in left}.values():
            if not request.future.done():
                request.future.set_exception(RuntimeError("the inference service is closed"))
        for thread in self._threads:
            thread.join(timeout=5)
