"""A real RTSP server on 127.0.0.1 for benches and tests: ``rtsp_server.py`` (Debian's gst-rtsp-server) run by
Debian's own /usr/bin/python3, serving a real clip; it can be killed and started again on the same port."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.procstat import stat_cpu_seconds

SCRIPT = Path(__file__).with_name("rtsp_server.py")


class RtspServer:
    def __init__(self, clip: Path, port: int = 0):
        self.clip, self.port = clip, port  # port 0: any free one, kept across restarts once bound
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def command(self) -> list[str]:
        return ["/usr/bin/python3", str(SCRIPT), str(self.clip), "--port", str(self.port)]

    def start(self) -> RtspServer:
        self.proc = subprocess.Popen(self.command(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT" or (self.port and line[1] != str(self.port)):
            self.kill()
            raise RuntimeError(f"{type(self).__name__} did not start: {' '.join(line)!r}")
        self.port = int(line[1])
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    close = kill

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (it must still run)."""
        return stat_cpu_seconds(f"/proc/{self.proc.pid}/stat")


class HttpCamera(RtspServer):
    """``http_camera.py``: the clip as a live MPEG-TS over HTTP on 127.0.0.1, for machines without gst-rtsp-server."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.ts"

    def command(self) -> list[str]:
        script = Path(__file__).with_name("http_camera.py")
        return [sys.executable, str(script), str(self.clip), "--port", str(self.port)]


def has_rtsp_server() -> bool:
    """Whether Debian's gst-rtsp-server can be run (its Python bindings under /usr/bin/python3)."""
    probe = "import gi; gi.require_version('GstRtspServer', '1.0')"
    try:
        return subprocess.run(["/usr/bin/python3", "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
