"""Native heap upkeep for long-running processes (glibc malloc; a no-op elsewhere).

Decoders, ONNX Runtime and numpy allocate and free frame-sized buffers (about 1 MB) on many threads.
glibc serves the first ones with mmap, but each such free raises its mmap threshold, after which the
buffers come from the per-thread arenas, whose freed pages stay resident: memory creeps although nothing
leaks. ``pin_mmap_threshold`` keeps big blocks on mmap (returned to the kernel when freed), ``trim_heap``
hands free arena pages back, and ``heap_stats`` tells in-use from free-but-kept bytes.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@dataclass(frozen=True)
class HeapStats:
    in_use_mb: float  # malloc'd and not yet freed, arenas and mmap'd chunks together
    free_mb: float  # freed but still held by the allocator
    mapped_mb: float  # the part of ``in_use_mb`` in blocks of their own mmap


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallinfo2"):
        return None
    libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    libc.mallinfo2.argtypes, libc.mallinfo2.restype = [], _Mallinfo2
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return libc


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter; setting it also stops glibc raising M_TRIM_THRESHOLD
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, which it would otherwise raise as big blocks are freed

_pinned: int | None = None  # the threshold pinned so far in this process


def pin_mmap_threshold(size: int | None = None) -> bool:
    """Serve blocks of ``size`` bytes and more with their own mmap from now on; True when glibc took it.

    Idempotent: without ``size``, the threshold pinned earlier in this process (else ``MMAP_THRESHOLD``) is
    applied again, so an entry point can pin early, before models load, and later calls keep its choice."""
    global _pinned
    libc = _libc()
    size = size if size is not None else (_pinned or MMAP_THRESHOLD)
    if not (libc and libc.mallopt(M_MMAP_THRESHOLD, size)):
        return False
    _pinned = size
    return True


def trim_heap() -> bool:
    """Return free heap pages of every malloc arena to the kernel; True when glibc released any."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0))


def heap_stats() -> HeapStats | None:
    """glibc's own account of the heap, or None without glibc."""
    libc = _libc()
    if libc is None:
        return None
    info = libc.mallinfo2()
    mb = 2**20
    return HeapStats((info.uordblks + info.hblkhd) / mb, info.fordblks / mb, info.hblkhd / mb)


def rss_mb() -> float:
    """Resident set size of this process in MiB (0 where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class HeapTrimmer:
    """Heap upkeep for a long run: ``pin`` once when started, then ``trim`` off the event loop every ``every`` s."""

    def __init__(self, every: float = 30.0, trim: Callable[[], object] = trim_heap,
                 pin: Callable[[], object] = pin_mmap_threshold):
        self.every, self._trim, self._pin = every, trim, pin
        self.trims = 0
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start on the running loop; a no-op when already running or when ``every`` is not positive."""
        if self.every > 0 and not self.running:
            self._pin()
            self._task = asyncio.create_task(self._run(), name="heap-trim")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await asyncio.to_thread(self._trim)
            self.trims += 1
