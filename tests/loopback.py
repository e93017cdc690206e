"""Loopback test parts: a free port, Debian's gst-rtsp-server on 127.0.0.1, and polling until a condition holds."""
from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "bench" / "rtsp_server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspServer:
    """Debian's gst-rtsp-server on 127.0.0.1 serving a real face clip; can be killed and restarted."""

    def __init__(self, clip: Path, port: int):
        self.clip, self.port = clip, port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def start(self) -> None:
        self.proc = subprocess.Popen(["/usr/bin/python3", str(SERVER), str(self.clip), "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().strip()
        if line != f"PORT {self.port}":
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


async def wait_for(predicate, timeout: float, step: float = 0.05) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - start
