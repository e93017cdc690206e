"""The stream worker: a Ray actor (one per node) owning several stream pipelines and one batched inference.

Its streams' events (results, alerts, status) are buffered here and collected by the server's placer
(``placement.RayStreams``) a few times a second; results are bounded (oldest dropped, counted), status
and alert events never dropped. Alerts are not stored here: SQLite stays with the server.
"""
from __future__ import annotations

from collections import deque

from ..core.faces.detector import set_default_mode
from ..core.inference import BatchedModel
from ..live.status import Event, ResultEvent
from ..live.supervisor import StreamSupervisor
from ..runtime.logs import filter_native_logs
from ..runtime.memory import pin_mmap_threshold
from ..runtime.opencv import one_opencv_thread
from ..core.model import Model
from .models import load

MAX_RESULTS = 1024  # result events held between two collections, over all of a worker's streams


class StreamWorker:
    def __init__(self, model: dict[str, bytes] | str, detector: str | None = None, threads: int | None = None):
        """``model``: its files (``models.model_blob``, through Ray's object store) or its directory here;
        ``threads``: the inference service's worker threads (default: one per core)."""
        pin_mmap_threshold()
        filter_native_logs()
        one_opencv_thread()
        if detector:
            set_default_mode(detector)  # the server's --detector
        self.model = BatchedModel(load(model) if isinstance(model, dict) else Model(model, threads=1), threads=threads)
        self.streams: dict = {}
        self._results: deque[Event] = deque(maxlen=MAX_RESULTS)
        self._events: list[Event] = []
        self.dropped = 0

    def _emit(self, event: Event) -> None:
        if isinstance(event, ResultEvent):
            if len(self._results) == self._results.maxlen:
                self.dropped += 1
            self._results.append(event)
        else:
            self._events.append(event)

    async def add(self, cfg) -> None:
        """Start a stream's supervisor (reader thread + pipeline) on this worker."""
        if cfg.name in self.streams:
            await self.remove(cfg.name)
        supervisor = StreamSupervisor(cfg, self.model, self._emit)
        self.streams[cfg.name] = supervisor
        supervisor.start()

    async def remove(self, name: str) -> None:
        supervisor = self.streams.pop(name, None)
        if supervisor is not None:
            await supervisor.stop()

    async def collect(self) -> dict:
        """Events since the last call (in order within each kind), every stream's snapshot, drop count."""
        events, self._events = self._events, []
        results = list(self._results)
        self._results.clear()
        return {"events": events, "results": results, "dropped": self.dropped,
                "snapshots": {name: s.snapshot() for name, s in self.streams.items()}}

    async def close(self) -> None:
        for name in list(self.streams):
            await self.remove(name)
        self.model.close()
