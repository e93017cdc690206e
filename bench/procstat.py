"""CPU time of a process or thread from Linux's /proc: the one place the benches read it."""
from __future__ import annotations

import os
from pathlib import Path


def stat_cpu_seconds(stat: Path | str) -> float:
    """User + system CPU seconds in a /proc ``stat`` file (``/proc/PID/stat`` or ``/proc/self/task/TID/stat``)."""
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
