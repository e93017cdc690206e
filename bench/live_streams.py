"""Shared by the stream benches: a 640x480 30 fps face clip, a local RTSP server, N monitored streams."""
from __future__ import annotations

import asyncio
import math
import os
import re
import resource
import sys
import threading
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import stat_cpu_seconds  # noqa: E402
from streamer.runtime.assets import asset_path, cache_dir  # noqa: E402
from streamer.cluster.processes import ProcessStreams  # noqa: E402
from streamer.core.inference import BatchedModel  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.live.manager import Monitor  # noqa: E402
from streamer.live.supervisor import StreamConfig  # noqa: E402
from streamer.live.status import Event, ResultEvent  # noqa: E402


def bench_clip(seconds: float = 80.0) -> Path:
    """A real talking head letterboxed to 640x480 at 30 fps, looped to ``seconds`` (made once, cached)."""
    path = cache_dir() / "bench" / f"face_640x480_30fps_{int(seconds)}s.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(asset_path("WolfgangLanger_Pexels.mp4"))) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    canvas = np.zeros((480, 640, 3), np.uint8)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": "veryfast", "g": "60"})
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.time_base = Fraction(1, 30)
        for i in range(int(seconds * 30)):
            canvas[60:420] = frames[i % len(frames)]
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    tmp.replace(path)
    return path


def long_clip(seconds: float) -> Path:
    """``bench_clip`` repeated (packets copied, not re-encoded) to at least ``seconds``: a source that does not end."""
    clip = bench_clip()
    path = clip.with_name(f"{clip.stem}_x{int(seconds)}s.mp4")
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(clip)) as src:
        pts = sorted(p.pts for p in src.demux(video=0) if p.pts is not None)
        time_base = src.streams.video[0].time_base
    span = pts[-1] - pts[0] + (pts[1] - pts[0])  # the clip's length in stream ticks
    with av.open(str(tmp), "w") as out:
        for i in range(math.ceil(seconds / float(span * time_base))):
            with av.open(str(clip)) as src:
                if i == 0:
                    stream = out.add_stream_from_template(src.streams.video[0])
                for packet in src.demux(video=0):
                    if packet.dts is None:
                        continue
                    packet.pts, packet.dts = packet.pts + i * span, packet.dts + i * span
                    packet.stream = stream
                    out.mux(packet)
    tmp.replace(path)
    return path


def thread_kind(name: str) -> str:
    """A thread's kind: its name without the stream or number it carries ("read-s3" -> "read")."""
    return re.sub(r"(-s)?[-_]?\d+(_\d+)?$", "", name)


def thread_cpu() -> dict[int, float]:
    """CPU seconds so far of each of this process's threads, by native id (Linux /proc)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            out[int(tid)] = stat_cpu_seconds(f"/proc/self/task/{tid}/stat")
        except OSError:
            continue  # the thread ended
    return out


def cores_by_kind(before: dict[int, float], after: dict[int, float], seconds: float) -> dict[str, float]:
    """Cores each kind of thread used between two ``thread_cpu`` snapshots; threads Python did not start (ONNX
    Runtime's, MediaPipe's, FFmpeg's) count as "native"."""
    names = {t.native_id: thread_kind(t.name) for t in threading.enumerate()}
    used: Counter = Counter()
    for tid, cpu in after.items():
        used[names.get(tid, "native")] += (cpu - before.get(tid, 0.0)) / seconds
    return dict(used.most_common())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StreamRun:
    """N streams of one RTSP source, analysed through one shared inference service; with ``workers`` > 1, in that
    many worker processes (``ProcessStreams``, as ``serve --stream-workers``), each with its own."""

    def __init__(self, model: Model, url: str, n: int, ceiling_fps: float, floor_fps: float,
                 keep_latencies: bool = True, trim_every: float = 30.0, workers: int = 1):
        self.keep_latencies = keep_latencies  # off for long runs: the list would grow with the run
        self.latencies: dict[str, list[tuple[float, float]]] = {}
        self.shared = BatchedModel(model)
        self.placer = ProcessStreams(workers, model.dir) if workers > 1 else None
        self.monitor = Monitor(self.shared, self._on_event, max_streams=n, trim_every=trim_every,
                               placer=self.placer)
        self.configs = [StreamConfig(f"s{i}", url, fps=ceiling_fps, min_fps=floor_fps, threshold=1.01,
                                     stall_seconds=10, connect_timeout=10, allow_http=url.startswith("http"))
                        for i in range(n)]

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ResultEvent) and self.keep_latencies:
            self.latencies.setdefault(event.stream, []).append((time.monotonic(), event.latency_ms))

    def start(self) -> None:
        for cfg in self.configs:
            self.monitor.add(cfg)

    def snapshots(self) -> list[dict]:
        """Every stream's counters, wherever it runs."""
        return [s.snapshot() for s in self.monitor.streams.values()]

    def counts(self) -> dict[str, int]:
        return {s["name"]: s.get("frames_analysed", 0) for s in self.snapshots()}

    def worker_cpu(self) -> float:
        """CPU seconds of the worker processes so far (0 without them)."""
        pids = [w.handle.process.pid for w in self.placer.workers.values()] if self.placer else []
        return sum(stat_cpu_seconds(f"/proc/{pid}/stat") for pid in pids if Path(f"/proc/{pid}").exists())

    async def wait_live(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while any(count == 0 for count in self.counts().values()):
            if time.monotonic() > deadline:
                raise RuntimeError("streams did not go live")
            await asyncio.sleep(0.2)

    def latency_percentile(self, since: float, until: float, q: float) -> float:
        values = [ms for series in self.latencies.values() for t, ms in series if since <= t < until]
        return float(np.percentile(values, q)) if values else float("nan")

    async def close(self) -> None:
        await self.monitor.close()
        self.shared.close()
