"""The real server on its own thread and event loop, and a y4m writer for Chromium's fake camera.

For the benches; the tests use them too (one copy). Nothing here is part of the product."""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from pathlib import Path

import av
import numpy as np
from aiohttp import web

from streamer.core.model import Model
from streamer.server import ServerConfig, create_app


class ServerThread:
    """The real app on 127.0.0.1 in a thread of its own, so its counters see only its own loop."""

    def __init__(self, cfg: ServerConfig, model: Model):
        self.cfg = cfg
        self.model = model
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="app-server", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> "ServerThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(create_app(self.cfg, self.model), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.cfg.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get_json(self, path: str, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_y4m(src: Path, dst: Path, seconds: float | None = None, fps: int | None = None) -> Path:
    """Decode ``src`` with PyAV and write raw I420 frames as YUV4MPEG2 (Chromium's fake camera format)."""
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        rate = fps or round(float(stream.average_rate or 24))
        limit = int(seconds * rate) if seconds else None
        with open(dst, "wb") as out:
            header = False
            for n, frame in enumerate(container.decode(stream)):
                if limit is not None and n >= limit:
                    break
                width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
                if not header:
                    out.write(f"YUV4MPEG2 W{width} H{height} F{rate}:1 Ip A1:1 C420jpeg\n".encode())
                    header = True
                yuv = frame.reformat(width, height, format="yuv420p").to_ndarray()
                out.write(b"FRAME\n")
                out.write(np.ascontiguousarray(yuv).tobytes())
    return dst
