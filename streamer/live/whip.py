"""A stream pushed over WHIP (RFC 9725): one peer connection whose video track feeds a monitored ``Pipeline``.

It is analysed like an RTSP camera (same sinks: events, alerts, thumbnails) and kept by the ``Monitor`` while
the push lasts; it is not stored for the next start, since the sender must push again anyway.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from ..core.model import Model
from .ice import PeerSettings, rtc_configuration
from .manager import Monitor, MonitorError
from .signalling import OfferError, check_offer_sdp
from .supervisor import StreamConfig, stream_snapshot
from .pipeline import Pipeline, RunsPipeline, Sink, live_analyzer
from .rate import AdaptiveRate
from .sinks import EventSink
from .status import Status, StatusEvent
from .track_source import TrackSource, answer_receive_only


log = logging.getLogger(__name__)
KIND = "whip"
ENDED_KEPT = 256  # ended resources remembered for a late DELETE


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
        return stream_snapshot(self.cfg, KIND, self.pipeline, 1, 0, low_latency=self.low_latency, started=self.started)


class WhipEndpoint:
    """The pushed streams by resource id; each also lives in the monitor under its name."""

    def __init__(self, cfg: PeerSettings, monitor: Monitor):
        self.cfg, self.monitor = cfg, monitor
        self.streams: dict[str, WhipStream] = {}
        # Resources whose media already ended (senders often close the connection before their DELETE):
        # a late DELETE still succeeds. Bounded: the oldest are forgotten.
        self.ended: OrderedDict[str, str] = OrderedDict()

    async def open(self, sdp: str, options: StreamConfig) -> tuple[WhipStream, str]:
        offer = check_offer_sdp(sdp, data_channel=False)
        pc = RTCPeerConnection(rtc_configuration(self.cfg))
        stream = WhipStream(options, pc, self.monitor.model, self.monitor.sinks(options, "whip"), self.monitor.emit,
                            self._ended)
        try:
            self.monitor.attach(stream)
        except MonitorError:
            await pc.close()
            raise
        self.streams[stream.id] = stream
        try:
            answer = await stream.negotiate(offer, self.cfg.connect_timeout)
        except Exception as exc:
            await self.close(stream.id)
            raise OfferError(400, f"The offer could not be negotiated: {str(exc) or type(exc).__name__}") from exc
        return stream, answer.sdp

    def _ended(self, stream: WhipStream) -> None:
        if self.streams.get(stream.id) is stream:
            asyncio.get_running_loop().create_task(self.close(stream.id), name=f"whip-{stream.id}-end")

    async def close(self, resource: str) -> str | None:
        """End a push; its stream name, or None for an unknown resource."""
        stream = self.streams.pop(resource, None)
        if stream is None:
            return self.ended.get(resource)
        self.ended[resource] = stream.cfg.name
        while len(self.ended) > ENDED_KEPT:
            self.ended.popitem(last=False)
        if self.monitor.streams.get(stream.cfg.name) is stream:
            await self.monitor.remove(stream.cfg.name)
        return stream.cfg.name

    async def trickle(self, resource: str, fragment: str) -> bool:
        """Add the candidates of an SDP fragment (RFC 8840); False for an unknown resource."""
        stream = self.streams.get(resource)
        if stream is None:
            return False
        mid = None
        for line in fragment.replace("\r\n", "\n").split("\n"):
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=candidate:"):
                candidate = candidate_from_sdp(line[12:].strip())
                candidate.sdpMid = mid
                await stream.pc.addIceCandidate(candidate)
            elif line.startswith("a=end-of-candidates"):
                await stream.pc.addIceCandidate(None)
        return True
