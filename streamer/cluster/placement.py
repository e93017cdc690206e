"""Live streams over a Ray cluster: a ``StreamWorker`` actor per node; streams placed on the least-loaded one.

The placer collects every worker's events a few times a second and hands them to the server as if the
streams ran here: results and status into the event hub, alerts stored in SQLite (here) and sent to the
webhook. A worker whose actor died, or that does not answer for ``LOST_AFTER`` seconds (its node is gone),
is dropped and its streams are re-placed on the other workers: they announce ``reconnecting`` with the
reason, then ``live`` again from their new node. New nodes get a worker as they join.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.faces.detector import configured_mode
from ..live.alerts import Alert
from ..live.supervisor import KIND, StreamConfig
from ..live.status import AlertEvent, Event, ResultEvent, Status, StatusEvent
from . import compat
from .models import model_blob
from .worker import StreamWorker

log = logging.getLogger(__name__)
POLL_SECONDS = 0.25
LOST_AFTER = 10.0  # seconds without an answer from a running worker
START_TIMEOUT = 120.0  # a new worker loads its model and detectors first
NODES_EVERY = 5.0  # seconds between looks for new nodes
_actor = None


def _remote():
    global _actor
    if _actor is None:
        _actor = compat.ray().remote(max_restarts=0, max_concurrency=64)(StreamWorker)
    return _actor


@dataclass
class Worker:
    node: str
    handle: object
    started: float = field(default_factory=time.monotonic)
    answered: float | None = None  # monotonic time of the last answer
    streams: set[str] = field(default_factory=set)
    busy: bool = False


class RayStream:
    """The server's view of one stream running on a worker (what ``Monitor`` keeps of any live source)."""

    def __init__(self, cfg: StreamConfig, placer: "RayStreams"):
        self.cfg, self._placer = cfg, placer
        self.node: str | None = None
        self.status: Status = Status.CONNECTING
        self.error: str | None = None
        self.latest_snapshot: dict = {}
        self.moved_at: float | None = None  # when its worker was declared lost, until it is live again
        self.recoveries: list[float] = []  # seconds from a loss to live again, per loss

    async def stop(self) -> None:
        await self._placer.remove(self.cfg.name)

    def snapshot(self) -> dict:
        base = {**self.cfg.to_dict(), "kind": KIND, "status": str(self.status), "error": self.error}
        return {**base, **{k: v for k, v in self.latest_snapshot.items() if k not in base}, "node": self.node}


class RayStreams:
    """Places stream pipelines on the cluster's nodes (see the module's doc)."""

    def __init__(self, address: str, model_dir: Path | str):
        self._ray = compat.connect(address)
        self._blob = self._ray.put(model_blob(model_dir))
        self._init_state()
        self._ensure_workers()

    def _init_state(self) -> None:
        self.workers: dict[str, Worker] = {}
        self.streams: dict[str, RayStream] = {}
        self._lost_nodes: set[str] = set()
        self._emit: Callable[[Event], None] = lambda e: None
        self._store: Callable[[Alert], None] | None = None
        self._notify: Callable[[Alert], None] | None = None
        self._task: asyncio.Task | None = None
        self._nodes_checked = 0.0
        self.dropped = 0

    def bind(self, emit: Callable[[Event], None], store_alert: Callable[[Alert], None] | None = None,
             notify: Callable[[Alert], None] | None = None) -> None:
        self._emit, self._store, self._notify = emit, store_alert, notify

    # -- nodes and workers ------------------------------------------------------------------------
    def _ensure_workers(self) -> None:
        for node in self._ray.nodes():
            nid = node["NodeID"]
            cpus = node.get("Resources", {}).get("CPU", 0)
            if not node.get("Alive") or cpus < 1 or nid in self.workers or nid in self._lost_nodes:
                continue
            gpus = 1 if node.get("Resources", {}).get("GPU", 0) >= 1 else 0
            handle = _remote().options(num_cpus=1, num_gpus=gpus,
                                       scheduling_strategy=compat.on_node(nid)).remote(self._blob,
                                                                                                configured_mode())
            self.workers[nid] = Worker(nid, handle)
        self._nodes_checked = time.monotonic()

    def _kill(self, handle) -> None:
        self._ray.kill(handle)

    def _least_loaded(self) -> Worker | None:
        return min(self.workers.values(), key=lambda w: (len(w.streams), w.node), default=None)

    # -- streams ----------------------------------------------------------------------------------
    def place(self, cfg: StreamConfig) -> RayStream:
        """Start a stream on the least-loaded worker (the monitor's ``add``)."""
        stream = self.streams[cfg.name] = RayStream(cfg, self)
        self._start_polling()
        self._assign(stream)
        return stream

    def _assign(self, stream: RayStream) -> None:
        worker = self._least_loaded()
        if worker is None:
            self._status(stream, Status.RECONNECTING, "no cluster node with a free CPU; waiting for one")
            return
        worker.streams.add(stream.cfg.name)
        stream.node = worker.node
        worker.handle.add.remote(stream.cfg)

    async def remove(self, name: str) -> None:
        stream = self.streams.pop(name, None)
        if stream is None:
            return
        for worker in self.workers.values():
            if name in worker.streams:
                worker.streams.discard(name)
                try:
                    await asyncio.wait_for(worker.handle.remove.remote(name), LOST_AFTER)
                except Exception as exc:  # a lost worker has nothing left to stop
                    log.warning("stream %s: stop on node %s: %s", name, worker.node[:8], exc)
        self._status(stream, Status.STOPPED, None)

    # -- collection -------------------------------------------------------------------------------
    def _start_polling(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll_forever(), name="ray-streams")

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.gather(*(self._collect(w) for w in list(self.workers.values()) if not w.busy))
            if time.monotonic() - self._nodes_checked > NODES_EVERY:
                self._ensure_workers()
                for stream in self.streams.values():
                    if stream.node is None:
                        self._assign(stream)
            await asyncio.sleep(POLL_SECONDS)

    async def _collect(self, worker: Worker) -> None:
        worker.busy = True
        limit = LOST_AFTER if worker.answered is not None else START_TIMEOUT
        waited_from = worker.answered or worker.started
        try:
            out = await asyncio.wait_for(worker.handle.collect.remote(), max(0.5, limit - (time.monotonic() - waited_from)))
        except asyncio.TimeoutError:
            if time.monotonic() - waited_from >= limit:
                self._lose(worker, f"its node did not answer for {limit:.0f} s")
            return
        except Exception as exc:  # the actor or its node died
            self._lose(worker, f"{type(exc).__name__}")
            return
        finally:
            worker.busy = False
        worker.answered = time.monotonic()
        await self._deliver(worker, out)

    async def _deliver(self, worker: Worker, out: dict) -> None:
        self.dropped = max(self.dropped, out["dropped"])
        for name, snap in out["snapshots"].items():
            if name in self.streams and self.streams[name].node == worker.node:
                self.streams[name].latest_snapshot = snap
        for event in out["events"]:
            await self._event(worker, event)
        for event in out["results"]:
            if isinstance(event, ResultEvent) and self._mine(worker, event.stream):
                self._emit(event)

    def _mine(self, worker: Worker, name: str) -> bool:
        return name in self.streams and self.streams[name].node == worker.node

    async def _event(self, worker: Worker, event: Event) -> None:
        if isinstance(event, AlertEvent):
            if not self._mine(worker, event.alert.stream):
                return
            if self._store:
                await asyncio.to_thread(self._store, event.alert)  # SQLite off the event loop
            if self._notify:
                self._notify(event.alert)
            self._emit(event)
        elif isinstance(event, StatusEvent) and self._mine(worker, event.stream):
            stream = self.streams[event.stream]
            if event.status == Status.STOPPED:
                return  # stopping is the placer's to announce
            if event.status == Status.LIVE and stream.moved_at is not None:
                stream.recoveries.append(time.monotonic() - stream.moved_at)
                stream.moved_at = None
            self._status(stream, event.status, event.error)

    def _status(self, stream: RayStream, status: Status, error: str | None) -> None:
        stream.status, stream.error = status, error
        self._emit(StatusEvent(stream.cfg.name, KIND, status, error))

    def _lose(self, worker: Worker, why: str) -> None:
        """Drop a worker and move its streams to the others."""
        if self.workers.pop(worker.node, None) is None:
            return
        self._lost_nodes.add(worker.node)
        log.warning("cluster node %s lost (%s): re-placing %d stream(s)", worker.node[:8], why, len(worker.streams))
        try:
            self._kill(worker.handle)
        except Exception:  # already gone with its node
            pass
        for name in sorted(worker.streams):
            stream = self.streams.get(name)
            if stream is None:
                continue
            stream.node, stream.moved_at = None, time.monotonic()
            self._status(stream, Status.RECONNECTING, f"cluster node lost ({why}); moving to another node")
            self._assign(stream)

    async def close(self) -> None:
        for name in list(self.streams):
            await self.remove(name)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for worker in list(self.workers.values()):
            try:
                await asyncio.wait_for(worker.handle.close.remote(), LOST_AFTER)
                self._kill(worker.handle)
            except Exception as exc:
                log.warning("closing the worker on node %s: %s", worker.node[:8], exc)
        self.workers.clear()
