"""A WebRTC video track as a pipeline source: every decoded frame is offered, nothing is queued."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .pipeline import Pipeline
from . import aiortc_compat


class TrackSource:
    """Receives ``track`` on the event loop and offers its frames to ``pipeline``; ``on_end`` when it ends."""

    def __init__(self, track: MediaStreamTrack, pipeline: Pipeline, rtp_of: Callable[[int], int | None]):
        self.track, self.pipeline, self._rtp_of = track, pipeline, rtp_of
        self.task: asyncio.Task | None = None

    def start(self, on_end: Callable[[], None]) -> None:
        self.task = asyncio.get_running_loop().create_task(self._receive(), name=f"{self.pipeline.name}-receive")
        self.task.add_done_callback(lambda _task: on_end())

    async def _receive(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                break
            if isinstance(frame, av.VideoFrame) and frame.pts is not None:
                self.pipeline.offer(frame, rtp=self._rtp_of(frame.pts))
        self.pipeline.end()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


def route_tracks(pc: RTCPeerConnection, on_video: Callable[[MediaStreamTrack], None], drain: MediaBlackhole) -> None:
    """The peer's first video track to ``on_video``; every other track (audio, as OBS sends) is drained into
    ``drain``, never left queueing unread."""
    taken: list[MediaStreamTrack] = []

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind != "video":
            drain.addTrack(track)
            asyncio.get_running_loop().create_task(drain.start(), name="drain-track")
        elif not taken:
            taken.append(track)
            on_video(track)


async def answer_receive_only(pc: RTCPeerConnection, offer: RTCSessionDescription, pipeline: Pipeline,
                              on_video: Callable[[MediaStreamTrack], None], drain: MediaBlackhole,
                              on_lost: Callable[[str], None]) -> bool:
    """Answer a peer that only sends (the webcam page, a WHIP push): its video to ``on_video``, ``on_lost`` with
    the reason when the connection fails or closes. True when frames leave the jitter buffer on their marker."""
    route_tracks(pc, on_video, drain)

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            on_lost(f"connection {pc.connectionState}")

    pipeline.start()
    await pc.setRemoteDescription(offer)
    # Media flows only once ICE and DTLS are up, after the answer: the swap is safe here.
    low_latency = all(aiortc_compat.install_marker_jitter_buffer(t.receiver)
                      for t in pc.getTransceivers() if t.kind == "video")
    await pc.setLocalDescription(await pc.createAnswer())
    return low_latency
