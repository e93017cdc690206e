"""A stream pushed over WHIP (RFC 9725): one peer connection whose video track feeds a monitored ``Pipeline``.

It is analysed like an RTSP camera (same sinks: events, alerts, thumbnails) and kept by the ``Monitor`` while
the push lasts; it is not stored for the next start, since the sender must push again anyway.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamTrack

from ..model import Model
from ..monitor.supervisor import StreamConfig
from ..pipeline import Pipeline, RunsPipeline, Sink, live_analyzer
from ..rate import AdaptiveRate
from ..sinks import EventSink
from ..status import Status, StatusEvent
from .track_source import TrackSource, answer_receive_only

log = logging.getLogger(__name__)
KIND = "whip"


class WhipStream(RunsPipeline):
    def __init__(self, cfg: StreamConfig, pc: RTCPeerConnection, model: Model, sinks: list[Sink], emit: EventSink,
                 on_ended: Callable[["WhipStream"], object]):
        self.id = secrets.token_urlsafe(12)  # the resource's capability: its URL ends the push
        self.cfg, self.pc, self.emit = cfg, pc, emit
        self.pipeline = Pipeline(cfg.name, KIND, lambda: live_analyzer(model, KIND, cfg.threshold), sinks,
                                 AdaptiveRate(cfg.fps, cfg.floor_fps), self._status_changed)
        self.source: TrackSource | None = None
        self._blackhole = MediaBlackhole()
        self.low_latency = False
        self.started = time.time()
        self._on_ended = on_ended
        self._ended = False

    async def negotiate(self, offer: RTCSessionDescription, connect_timeout: float) -> RTCSessionDescription:
        pc = self.pc

        def on_video(track: MediaStreamTrack) -> None:
            self.source = TrackSource(track, self.pipeline, lambda pts: None)
            self.source.start(lambda: self._end("the pushed video track ended"))

        self.low_latency = await answer_receive_only(pc, offer, self.pipeline, on_video, self._blackhole, self._end)
        asyncio.get_running_loop().call_later(connect_timeout, self._check_connected, connect_timeout)
        return pc.localDescription

    def _check_connected(self, timeout: float) -> None:
        if self.pc.connectionState != "connected":
            self._end(f"no connection within {timeout:g} s")

    def _end(self, reason: str) -> None:
        """The push is over: the monitor removes (and stops) this stream."""
        if self._ended:
            return
        self._ended = True
        log.info("WHIP stream %s ended: %s", self.cfg.name, reason)
        self.pipeline.set_source_status(Status.STOPPED, reason)
        self._on_ended(self)

    def _status_changed(self, status: Status, error: str | None) -> None:
        self.emit(StatusEvent(self.cfg.name, KIND, status, error))

    async def stop(self) -> None:
        self._ended = True
        if self.source is not None:
            await self.source.close()
        await self.pipeline.close()
        await self._blackhole.stop()
        await self.pc.close()

    def snapshot(self) -> dict:
        return {**self.cfg.to_dict(), "kind": KIND, **self.pipeline.snapshot(), "connects": 1, "reconnects": 0,
                "last_frame_at": self.pipeline.last_frame_at, "low_latency": self.low_latency, "started": self.started,
                "latest": self.pipeline.latest}
