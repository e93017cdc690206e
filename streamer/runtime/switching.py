"""How long one Python thread may run before a waiting one takes the interpreter, in processes that run live streams.

Each live stream has a reader thread (decoding with the GIL released) and an analysis thread, so 20 streams make
40-odd threads on two cores. A thread that comes back from native work (a decoded frame, an encoder batch, a
detection) waits for the GIL; CPython lets the running thread keep it for 5 ms before it must hand it over, so
every such return can wait that long while the cores idle. Handing it over every 0.2 ms instead raised the
analysed rate of 20 streams from 4.7-5.2 to 6.6-8.8 fps each (0.5 ms: 6.4-7.6, 0.1 ms: 5.2-6.4; ``bench/streams.py
--streams 20``, the README, *Measured*).
"""
from __future__ import annotations

import sys

LIVE_SWITCH_INTERVAL = 0.0002  # seconds


def live_switching(seconds: float = LIVE_SWITCH_INTERVAL) -> float:
    """Set this process's thread switch interval for live streams; returns the interval it had before."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    return before
