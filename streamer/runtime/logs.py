"""Keep native libraries' chatter (MediaPipe/LiteRT/absl logging on fd 2) out of the user's terminal.

Python's own ``sys.stderr`` is moved to a duplicate of the terminal's stderr; file descriptor 2, where the
C++ libraries write, goes through a pipe that drops their routine log lines and forwards everything else.
"""
from __future__ import annotations

import os
import re
import sys
import threading

NOISE = re.compile(rb"^(?:[IW]\d{4} |INFO: |WARNING: Logging before InitGoogle|WARNING: All log messages before absl)")
_installed = False


def _forward(read_fd: int, out_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(4096):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NOISE.match(line))
            if kept:
                os.write(out_fd, kept)


def filter_native_logs() -> None:
    """Install the filter once per process (CLI entry points call it)."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    threading.Thread(target=_forward, args=(read_fd, terminal), name="native-log-filter", daemon=True).start()
