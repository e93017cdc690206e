"""The media path of one session: RTP frames -> latest-frame slot -> analysis thread -> results.

The event loop only receives frames and swaps them into a ``LatestSlot``; conversion to RGB and the
analysis run on the session's own single worker thread, so a slow analysis drops frames instead of
stalling RTP handling.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..analyzer import Analyzer
from ..handoff import LatestSlot
from ..sources import Frame

log = logging.getLogger(__name__)
THREAD_PREFIX = "dfs-session"
# MediaPipe set-up, first detection and close silence fd 2 by swapping it process-wide (dup2); two
# sessions doing that at once could leave stderr pointing at /dev/null. One at a time, then.
NATIVE_SETUP = threading.Lock()


@dataclass
class Received:
    frame: av.VideoFrame
    rtp: int | None  # the frame's RTP timestamp as sent, when known
    at: float  # perf_counter() when the frame left the decoder
    wall: float  # the same moment on the wall clock (s since the epoch), for the page's latency breakdown


class FrameConsumer:
    """Consumes one video track; ``send`` gets each result as a JSON-ready dict, on the event loop."""

    def __init__(self, name: str, analyzer_factory: Callable[[], Analyzer], send: Callable[[dict], None],
                 rtp_of: Callable[[int], int | None] = lambda pts: None):
        self.name = name
        self.slot: LatestSlot[Received] = LatestSlot()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{THREAD_PREFIX}-{name}")
        self.analysed = 0
        self._factory = analyzer_factory
        self._send = send
        self._rtp_of = rtp_of
        self._analyzer: Analyzer | None = None
        self._done: deque[float] = deque(maxlen=64)
        self._tasks: list[asyncio.Task] = []
        self._closed = False

    @property
    def tasks(self) -> list[asyncio.Task]:
        return [t for t in self._tasks if not t.done()]

    def start(self, track: MediaStreamTrack, on_end: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        receive = loop.create_task(self._receive(track), name=f"{self.name}-receive")
        receive.add_done_callback(lambda _task: on_end())
        self._tasks = [receive, loop.create_task(self._analyse(), name=f"{self.name}-analyse")]

    async def _receive(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if isinstance(frame, av.VideoFrame) and frame.pts is not None:
                self.slot.put(Received(frame, self._rtp_of(frame.pts), time.perf_counter(), time.time()))
        self.slot.close()

    async def _analyse(self) -> None:
        loop = asyncio.get_running_loop()
        while (item := await self.slot.get()) is not None:
            try:
                result = await loop.run_in_executor(self.executor, self._process, item)
            except Exception:  # a bad frame must not end the session; the log says why
                log.exception("session %s: analysis failed", self.name)
                continue
            self._send(result)

    def _process(self, item: Received) -> dict:
        """Runs on the session's worker thread."""
        started = time.perf_counter()
        image = item.frame.to_ndarray(format="rgb24")
        frame = Frame(image, float(item.frame.pts * item.frame.time_base), self.analysed)
        if self._analyzer is None:
            with NATIVE_SETUP:
                self._analyzer = self._factory()
                result = self._analyzer.process(frame)
        else:
            result = self._analyzer.process(frame)
        done = time.perf_counter()
        self.analysed += 1
        self._done.append(done)
        message = {"type": "result", **result.to_dict(), "rtp": item.rtp, "width": result.width,
                   "height": result.height}
        message["stats"] = {
            "received": self.slot.received, "dropped": self.slot.dropped, "analysed": self.analysed,
            "fps": round(self.fps(done), 2), "wait_ms": round((started - item.at) * 1000, 2),
            "process_ms": round((done - started) * 1000, 2), "received_at": round(item.wall * 1000, 1),
        }
        return message

    def fps(self, now: float | None = None) -> float:
        """Analysed frames per second over the last two seconds."""
        now = time.perf_counter() if now is None else now
        recent = [t for t in list(self._done) if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    async def close(self) -> None:
        """Stop both loops, close the analyzer on its own thread and let the thread end."""
        if self._closed:
            return
        self._closed = True
        self.slot.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self._close_analyzer)
        finally:
            self.executor.shutdown(wait=False)

    def _close_analyzer(self) -> None:
        if self._analyzer is not None:
            with NATIVE_SETUP:
                self._analyzer.close()
            self._analyzer = None
