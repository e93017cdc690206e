"""A real RTSP server on 127.0.0.1 for benches and tests: ``rtsp_server.py`` (Debian's gst-rtsp-server) run by
Debian's own /usr/bin/python3, serving a real clip; it can be killed and started again on the same port."""
from __future__ import annotations

import subprocess
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

    def start(self) -> RtspServer:
        self.proc = subprocess.Popen(["/usr/bin/python3", str(SCRIPT), str(self.clip), "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT" or (self.port and line[1] != str(self.port)):
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {' '.join(line)!r}")
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
