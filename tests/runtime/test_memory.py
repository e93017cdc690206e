import asyncio
import ctypes
import ctypes.util
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from streamer.runtime.memory import HeapTrimmer, heap_stats, rss_mb, trim_heap

glibc = pytest.mark.skipif(heap_stats() is None, reason="needs glibc malloc")


@glibc
def test_heap_stats_follow_an_allocation():
    before = heap_stats().in_use_mb
    block = np.ones(40 * 2**20 // 8)  # 40 MiB
    during = heap_stats().in_use_mb
    del block
    after = heap_stats().in_use_mb
    assert during - before == pytest.approx(40, abs=2)
    assert during - after == pytest.approx(40, abs=2)


@glibc
def test_trim_returns_freed_pages_a_thread_arena_kept():
    """Blocks freed below the top of a thread's arena stay resident until the heap is trimmed."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size, count = 64 * 1024, 400  # 25 MiB in blocks below the mmap threshold
    kept: list[int] = []

    def churn() -> None:
        blocks = [libc.malloc(size) for _ in range(count)]
        for b in blocks:
            ctypes.memset(b, 1, size)
        for b in blocks[:-1]:  # the last block pins the arena's top, so free() alone cannot shrink it
            libc.free(b)
        kept.append(blocks[-1])

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    held = rss_mb()
    assert heap_stats().free_mb > 20
    assert trim_heap()
    assert held - rss_mb() > 20
    libc.free(kept[0])


async def test_trimmer_pins_once_then_trims_periodically_until_stopped():
    calls: list[int] = []
    pins: list[bool] = []
    trimmer = HeapTrimmer(every=0.02, trim=lambda: calls.append(threading.get_ident()), pin=lambda: pins.append(True))
    trimmer.start()
    trimmer.start()  # already running: no second task
    assert pins == [True]
    await asyncio.sleep(0.15)
    await trimmer.stop()
    stopped_at = len(calls)
    await asyncio.sleep(0.06)
    assert 3 <= stopped_at <= 8 and len(calls) == stopped_at == trimmer.trims
    assert threading.get_ident() not in calls  # off the event loop
    assert not trimmer.running


async def test_trimmer_with_no_period_never_starts():
    trimmer = HeapTrimmer(every=0, trim=lambda: pytest.fail("trimmed"), pin=lambda: pytest.fail("pinned"))
    trimmer.start()
    await asyncio.sleep(0.02)
    assert not trimmer.running


PROBE = """
import ctypes, ctypes.util, sys
from streamer.runtime import memory
from streamer.runtime.memory import heap_stats, pin_mmap_threshold
pinned_mmap_threshold = lambda: memory._pinned  # what the process pinned (None: nothing yet)
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(4 << 20))  # freeing a 4 MiB mmap'd block raises glibc's threshold past 1 MiB
mode, kib = sys.argv[1], int(sys.argv[2])
if mode == "pin":
    assert pin_mmap_threshold() and pinned_mmap_threshold() == 128 << 10
elif mode == "pin 64 KiB, then again":
    assert pin_mmap_threshold(64 << 10) and pin_mmap_threshold()  # the second, as the monitor's, keeps 64 KiB
    assert pinned_mmap_threshold() == 64 << 10
else:
    assert pinned_mmap_threshold() is None
before = heap_stats().mapped_mb
blocks = [libc.malloc(kib << 10) for _ in range((8 << 20) // (kib << 10))]  # 8 MiB: more than the heap has free
print((heap_stats().mapped_mb - before) / 8)
"""


@glibc
@pytest.mark.parametrize("mode, kib, mapped", [("pin", 1024, 1.0), ("default", 1024, 0.0), ("pin", 96, 0.0),
                                               ("pin 64 KiB, then again", 96, 1.0)])
def test_pinned_threshold_keeps_big_blocks_on_mmap(mode, kib, mapped):
    """The share of 8 MiB of new blocks that got their own mmap (glibc fills free heap space first)."""
    out = subprocess.run([sys.executable, "-c", PROBE, mode, str(kib)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert float(out.stdout) == pytest.approx(mapped, abs=0.25)
