"""A Python aiortc peer that plays a face clip into the server, as a browser would."""
from __future__ import annotations

import asyncio
import fractions
import json
from pathlib import Path

import aiohttp
import av
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

CLOCK = 90000


class ClipTrack(VideoStreamTrack):
    """Frames of a clip, looped, at its own frame rate with 90 kHz timestamps."""

    def __init__(self, path: Path, seconds: float = 2.0):
        super().__init__()
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            self.fps = float(stream.average_rate or 24)
            self.frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(int(seconds * self.fps)),
                                                                      container.decode(stream))]
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        if self.sent:
            await asyncio.sleep(1 / self.fps)
        frame = av.VideoFrame.from_ndarray(self.frames[self.sent % len(self.frames)], format="rgb24")
        frame.pts = int(self.sent * CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, CLOCK)
        self.sent += 1
        return frame


class Peer:
    """One client session: offer, answer, a results channel and a list of the results received."""

    def __init__(self, track: ClipTrack | None):
        # No ICE servers: aiortc would otherwise ask a public STUN server.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel: RTCDataChannel = self.pc.createDataChannel("results", ordered=False, maxRetransmits=0)
        self.results: list[dict] = []
        self.statuses: list[dict] = []
        self.got_result = asyncio.Event()
        self.answer: dict = {}
        if track is not None:
            self.pc.addTransceiver(track, direction="sendonly")

        @self.channel.on("message")
        def on_message(message: str) -> None:
            data = json.loads(message)
            (self.statuses if data.get("type") == "status" else self.results).append(data)
            self.got_result.set()

    async def offer(self) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"sdp": self.pc.localDescription.sdp, "type": self.pc.localDescription.type}

    async def connect(self, http: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
        response = await http.post(url + "/api/offer", json=await self.offer())
        if response.status == 200:
            self.answer = await response.json()
            await self.pc.setRemoteDescription(RTCSessionDescription(self.answer["sdp"], self.answer["type"]))
        return response

    async def close(self) -> None:
        await self.pc.close()
