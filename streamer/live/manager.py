"""Many streams at once: adding and removing supervisors, storing alerts, fanning out events."""
from __future__ import annotations

import asyncio
import unicodedata
from typing import Protocol

from ..runtime.memory import HeapTrimmer
from ..core.model import Model
from .pipeline import Sink
from .sinks import EventSink, FrameHook, stream_sinks
from .status import Status
from ..storage.store import AsyncStore, Store
from .alerts import Alert
from .supervisor import StreamConfig, StreamSupervisor
from .webhook import WebhookSender


def name_key(name: str) -> str:
    """Names that differ only in case or spacing are the same stream."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class LiveSource(Protocol):
    """What the monitor needs of a stream: an RTSP supervisor, a WHIP push."""
    cfg: StreamConfig

    @property
    def status(self) -> Status: ...

    async def stop(self) -> None: ...

    def snapshot(self) -> dict: ...


class MonitorError(ValueError):
    """A stream cannot be added or removed; the message is meant for the user."""


class Monitor:
    def __init__(self, model: Model, emit: EventSink, store: Store | AsyncStore | None = None,
                 webhook: WebhookSender | None = None, max_streams: int = 16, on_frame: FrameHook | None = None,
                 trimmer: HeapTrimmer | None = None, trim_every: float = 30.0, placer=None):
        self.model, self.emit, self.webhook, self.on_frame = model, emit, webhook, on_frame
        self.db = store
        self.store = store.sync if isinstance(store, AsyncStore) else store  # alerts: stored on worker threads
        self.placer = placer  # cluster.placement.RayStreams: streams run on Ray actors, events come back here
        if placer is not None:
            placer.bind(emit, self._store_alert, self._notify)
        self.max_streams = max_streams
        self.streams: dict[str, StreamSupervisor | LiveSource] = {}
        # decoders and inference free big buffers on many threads; without trimming, glibc keeps them resident
        self._own_trimmer = trimmer is None
        self.trimmer = trimmer or HeapTrimmer(trim_every)

    def add(self, cfg: StreamConfig, persist: bool = True) -> StreamSupervisor:
        self._check_room(cfg.name)
        if self.placer is not None:
            supervisor = self.placer.place(cfg)
        else:
            supervisor = StreamSupervisor(cfg, self.model, self.emit, self._store_alert, self._notify, self.on_frame)
            supervisor.start()
        self.streams[cfg.name] = supervisor
        self.trimmer.start()
        if persist and self.store:
            self._persist("save_stream", cfg.to_dict())
        return supervisor

    def sinks(self, cfg: StreamConfig, kind: str) -> list[Sink]:
        """The sinks of a stream this monitor keeps: events, stored alerts with the webhook, thumbnails."""
        return stream_sinks(cfg.name, kind, self.emit, cfg.threshold, cfg.alert_seconds, self._store_alert,
                            self._notify, self.on_frame)

    def attach(self, source: LiveSource) -> None:
        """Keep a source that was started elsewhere (a pushed stream); it is not stored for the next start."""
        self._check_room(source.cfg.name)
        self.streams[source.cfg.name] = source
        self.trimmer.start()

    def _check_room(self, name: str) -> None:
        if name_key(name) in {name_key(n) for n in self.streams}:
            raise MonitorError(f"a stream named {name!r} already exists")
        if len(self.streams) >= self.max_streams:
            raise MonitorError(f"at most {self.max_streams} streams can be monitored at once")

    async def remove(self, name: str) -> None:
        supervisor = self.streams.pop(name, None)
        if supervisor is None:
            raise MonitorError(f"no stream named {name!r}")
        if self.store:
            self._persist("delete_stream", name)
        await supervisor.stop()

    def _persist(self, method: str, *args: object) -> None:
        """A stream-list write: on the server, off the event loop and in order with every other store call."""
        if isinstance(self.db, AsyncStore):
            self.db.schedule(method, *args)
        elif self.db is not None:
            getattr(self.db, method)(*args)

    def _store_alert(self, alert: Alert) -> None:
        """On the stream's worker thread: SQLite stays off the event loop."""
        if self.store:
            alert.id = self.store.add_alert(alert.stream, alert.track_id, alert.pts, alert.score,
                                            alert.created, alert.snapshot)

    def _notify(self, alert: Alert) -> None:
        if self.webhook:
            self.webhook.send(alert)

    def snapshot(self) -> list[dict]:
        return [s.snapshot() for s in self.streams.values()]

    async def close_all_streams(self) -> None:
        """Stop every supervisor; the stored stream list stays, to be restored at the next start."""
        supervisors = list(self.streams.values())
        self.streams.clear()
        await asyncio.gather(*(s.stop() for s in supervisors))
        if self.placer is not None:
            await self.placer.close()
        if self._own_trimmer:
            await self.trimmer.stop()

    async def close(self) -> None:
        await self.close_all_streams()
        if self.webhook:
            await self.webhook.close()
