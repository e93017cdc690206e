"""The live pipeline's rules, with a scripted analyzer: hand-off, timestamps, indices, errors, sinks, status."""
from __future__ import annotations

import asyncio
import threading
import time
from fractions import Fraction

import av
import numpy as np

from prometheus_client import REGISTRY

from streamer.core.analyzer import FrameResult
from streamer.live.pipeline import Analysed, Pipeline, Sink
from streamer.live.rate import AdaptiveRate
from streamer.live.status import Status


class ScriptedAnalyzer:
    """Records what it is given; sleeps ``delay`` s per frame; raises for frame indices in ``fail``."""

    def __init__(self, delay: float = 0.0, fail: set[int] = frozenset()):
        self.delay, self.fail = delay, set(fail)
        self.frames: list[tuple[float, int]] = []
        self.resets = 0
        self.closed = False

    def process(self, frame) -> FrameResult:
        time.sleep(self.delay)
        if frame.index in self.fail:
            raise ValueError(f"bad frame {frame.index}")
        self.frames.append((frame.pts, frame.index))
        return FrameResult(frame.pts, frame.index, frame.image.shape[1], frame.image.shape[0])

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed = True


class Recorder(Sink):
    def __init__(self):
        self.threads, self.results, self.resets = set(), [], 0

    def on_frame(self, out: Analysed) -> None:
        self.threads.add(threading.current_thread().name)

    def on_result(self, out: Analysed) -> None:
        self.results.append(out.result.frame_index)

    def reset(self) -> None:
        self.resets += 1


def frame(pts: int | None, rate: int = 25) -> av.VideoFrame:
    f = av.VideoFrame.from_ndarray(np.zeros((32, 48, 3), np.uint8), format="rgb24")
    f.pts = pts
    f.time_base = Fraction(1, rate)
    return f


def pipeline(analyzer: ScriptedAnalyzer, sinks=(), rate=None):
    statuses: list[tuple[str, str | None]] = []
    p = Pipeline("cam", "test", lambda: analyzer, list(sinks), rate, lambda s, e: statuses.append((str(s), e)))
    return p, statuses


async def settle(p: Pipeline, analyzer: ScriptedAnalyzer, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while p.stats.frames_analysed + p.stats.frames_failed + p.stats.frames_skipped < count:
        assert time.monotonic() < deadline, p.stats
        await asyncio.sleep(0.01)


async def test_a_slow_analysis_drops_stale_frames_and_counts_them():
    analyzer = ScriptedAnalyzer(delay=0.05)
    p, _ = pipeline(analyzer)
    p.start()
    for i in range(40):
        p.offer(frame(i))
        await asyncio.sleep(0.005)
    p.end()
    await asyncio.wait_for(p.task, 10)
    s = p.stats
    assert s.frames_in == 40 and s.frames_dropped > 20
    assert s.frames_analysed + s.frames_dropped == 40  # each frame analysed or dropped, never queued
    assert analyzer.frames[-1][1] == 39  # the newest frame is the one analysed last
    await p.close()
    assert analyzer.closed


async def test_timestamps_follow_pts_or_the_arrival_clock_and_indices_restart_per_connection():
    analyzer = ScriptedAnalyzer()
    sink = Recorder()
    p, statuses = pipeline(analyzer, [sink])
    p.start()
    for i in range(3):
        p.offer(frame(i * 5), generation=1)  # pts 0, 0.2, 0.4 s
        await settle(p, analyzer, i + 1)
    p.offer(frame(None), generation=2)  # a new connection, a frame without pts
    await settle(p, analyzer, 4)
    await asyncio.sleep(0.1)
    p.offer(frame(None), generation=2)
    await settle(p, analyzer, 5)
    await p.close()
    pts, index = zip(*analyzer.frames)
    assert pts[:3] == (0.0, 0.2, 0.4) and index == (0, 1, 2, 0, 1)
    assert pts[3] == 0.0 and 0.08 < pts[4] < 1.0  # seconds since the connection's first frame
    assert analyzer.resets == 2 and sink.resets == 2  # the first frame, then the reconnect
    assert sink.threads == {t for t in sink.threads if t.startswith("dfs-pipeline-test-cam")}
    assert [s for s, _ in statuses] == ["connecting", "live", "stopped"]


async def test_an_analysis_error_degrades_with_the_reason_and_the_next_good_frame_recovers():
    analyzer = ScriptedAnalyzer(fail={2, 3})
    sink = Recorder()
    p, statuses = pipeline(analyzer, [sink])
    p.start()
    for i in range(8):
        p.offer(frame(i))
        await settle(p, analyzer, i + 1)
    await p.close()
    assert p.stats.frames_failed == 2 and p.stats.frames_analysed == 6
    assert sink.results == [0, 1, 4, 5, 6, 7]
    assert statuses == [("connecting", None), ("live", None),
                        ("degraded", "analysis failed: ValueError: bad frame 2"), ("live", None), ("stopped", None)]


class Broken(Sink):
    """Raises on every call."""

    def on_frame(self, out: Analysed) -> None:
        raise OSError("sink full")

    def on_result(self, out: Analysed) -> None:
        raise RuntimeError("peer gone")

    def reset(self) -> None:
        raise RuntimeError("cannot reset")


def sink_errors(name: str) -> float:
    return REGISTRY.get_sample_value("dfs_sink_errors_total", {"sink": name}) or 0.0


async def test_a_failing_sink_costs_the_other_sinks_nothing_and_is_counted(caplog):
    analyzer = ScriptedAnalyzer()
    before, after = Recorder(), Recorder()
    p, statuses = pipeline(analyzer, [before, Broken(), after])
    errors = sink_errors("Broken")
    p.start()
    for i in range(12):
        p.offer(frame(i))
        await settle(p, analyzer, i + 1)
    await p.close()
    assert before.results == after.results == list(range(12))  # every frame, on both sides of the broken sink
    assert before.resets == after.resets == 1
    assert p.stats.frames_analysed == 12 and p.stats.frames_failed == 0
    assert sink_errors("Broken") - errors == 1 + 12 * 2  # one reset, then on_frame and on_result of each frame
    assert [m for m in caplog.messages if "sink Broken" in m]  # logged, not silent
    assert ("degraded", "analysis failed: OSError: sink full") not in statuses


async def test_an_analyzer_that_cannot_be_created_is_retried_and_shown():
    made = []

    def factory():
        made.append(1)
        if len(made) < 3:
            raise RuntimeError("model file unreadable")
        return ScriptedAnalyzer()

    statuses = []
    p = Pipeline("cam", "test", factory, on_status=lambda s, e: statuses.append(str(s)))
    p.start()
    for i in range(4):
        p.offer(frame(i))
        await asyncio.sleep(0.05)
    await p.close()
    assert p.stats.frames_failed == 2 and p.stats.frames_analysed == 2 and statuses.count("degraded") == 1


async def test_the_rate_limit_skips_frames_it_does_not_need():
    analyzer = ScriptedAnalyzer()
    p, _ = pipeline(analyzer, rate=AdaptiveRate(5.0, 1.0))
    p.start()
    for i in range(30):  # 30 frames in 1 s, at most about 5-6 analysed
        p.offer(frame(i))
        await asyncio.sleep(1 / 30)
    await settle(p, analyzer, 30)
    await p.close()
    assert 4 <= p.stats.frames_analysed <= 8 and p.stats.frames_skipped >= 20


async def test_a_status_from_a_reader_thread_reaches_the_loop_in_order_and_ended_stays_ended():
    p, statuses = pipeline(ScriptedAnalyzer())
    p.start()
    loop_thread = threading.current_thread()
    seen_on = []
    p._on_status = lambda s, e: (statuses.append((str(s), e)), seen_on.append(threading.current_thread()))

    def reader():
        p.set_source_status(Status.STALLED, "no data for 5 s")
        p.set_source_status(Status.FAILED, "gave up")
        p.set_source_status(Status.LIVE)  # too late: failed is final until stopped

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    await asyncio.sleep(0.05)
    await p.close()
    assert statuses[1:] == [("stalled", "no data for 5 s"), ("failed", "gave up"), ("stopped", "gave up")]
    assert set(seen_on) == {loop_thread}


async def test_a_reader_flooding_a_busy_loop_leaves_one_frame_waiting_not_every_frame_it_decoded():
    import sys

    analyzer = ScriptedAnalyzer()
    p, _ = pipeline(analyzer)
    p.start()
    frames = [frame(i) for i in range(300)]
    reader = threading.Thread(target=lambda: [p.offer_threadsafe(f) for f in frames])
    reader.start()
    reader.join()  # the event loop is blocked the while: nothing is taken from the slot
    held = [f for f in frames if sys.getrefcount(f) > 3]  # referenced beyond this list, the loop and the call
    assert len(held) == 1 and held[0].pts == 299  # the newest, in the stream's own slot
    assert (p.stats.frames_in, p.stats.frames_dropped) == (300, 299)
    await settle(p, analyzer, 1)
    assert analyzer.frames == [(299 / 25, 299)]
    await p.close()
