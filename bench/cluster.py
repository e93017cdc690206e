"""Past one machine, measured on this one: file scans and live streams on a local two-node Ray cluster.

    python bench/cluster.py [--model DIR] [--streams 8] [--seconds 20] [--skip-streams]

1. The 2-minute real-face file (bench/compose.py), every frame analysed: sequential (one process) vs
   segment-parallel (local worker processes, one per core) vs Ray tasks on two local nodes of one CPU each.
   Worker processes are started and warm before each timed run (their start-up is printed apart).
2. Live streams: --streams RTSP sessions of a real 640x480 30 fps face clip (bench/live_streams.py), at
   most 10 analysed fps each, on Ray stream workers: a cluster of one node, then one of two nodes.
   Printed: analysed fps per stream (min/mean), how many streams held >= 9.5 fps, machine CPU use; then
   one node of the two is killed and the time until its streams score again on the other is printed.

All nodes share this machine's cores (2 here), so the two-node figures show what a second process gains
on the same cores, not what a second machine gains; see the README for what scales with what.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback-only local cluster
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compose import long_file  # noqa: E402
from live_streams import bench_clip  # noqa: E402
from rtsp import RtspServer  # noqa: E402

from streamer.runtime.assets import asset_path  # noqa: E402
from streamer.cluster import compat  # noqa: E402
from streamer.core.inference import default_threads  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.core.model_dir import DEFAULT_MODEL_DIR  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.runtime.opencv import one_opencv_thread  # noqa: E402
from streamer.files.scan import scan_file  # noqa: E402
from streamer.files.segments import SegmentPool, scan_parallel  # noqa: E402
from streamer.live.status import ResultEvent  # noqa: E402


def timed(fn) -> tuple[dict, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def scans(model: Model, path: Path) -> dict[str, float]:
    from streamer.cluster.scans import RayScans

    fps = {}
    result, seconds = timed(lambda: scan_file(path, model))
    frames = len(result["frames"])
    fps["sequential"] = frames / seconds
    print(f"sequential:       {fps['sequential']:6.1f} fps ({frames} frames in {seconds:.1f} s)", flush=True)
    pool = SegmentPool(model.dir, default_threads())
    started, t = timed(pool.warm)
    try:
        result, seconds = timed(lambda: scan_parallel(path, model, pool.run, pool.workers))
    finally:
        pool.close()
    fps["parallel"] = len(result["frames"]) / seconds
    print(f"segment-parallel: {fps['parallel']:6.1f} fps ({pool.workers} local worker processes, started in "
          f"{t:.1f} s before the timed run)", flush=True)
    cluster, t = timed(lambda: compat.LocalCluster(nodes=2, cpus_per_node=1))
    try:
        ray_scans = RayScans(cluster.address, model.dir)
        _, warm = timed(lambda: scan_parallel(asset_path("WolfgangLanger_Pexels.mp4"), model, ray_scans.run,
                                              ray_scans.parts))
        result, seconds = timed(lambda: scan_parallel(path, model, ray_scans.run, ray_scans.parts))
        ray_scans.close()
    finally:
        cluster.shutdown()
    fps["ray"] = len(result["frames"]) / seconds
    print(f"Ray, two nodes:   {fps['ray']:6.1f} fps (cluster up in {t:.1f} s, workers warmed on a 20 s clip in "
          f"{warm:.1f} s, before the timed run)", flush=True)
    return fps


async def streams_on(nodes: int, model_dir: Path, url: str, n: int, seconds: float, kill: bool = False) -> dict:
    from streamer.cluster.placement import RayStreams
    from streamer.live.manager import Monitor
    from streamer.live.supervisor import StreamConfig

    cluster = compat.LocalCluster(nodes, 1)  # on the main thread: Ray installs signal handlers
    counts: dict[str, int] = {}
    last: dict[str, float] = {}

    def on_event(event) -> None:
        if isinstance(event, ResultEvent):
            counts[event.stream] = counts.get(event.stream, 0) + 1
            last[event.stream] = time.monotonic()

    try:
        placer = await asyncio.to_thread(RayStreams, cluster.address, model_dir)
        monitor = Monitor(None, on_event, max_streams=n, placer=placer)
        for i in range(n):
            monitor.add(StreamConfig(f"s{i}", url, fps=10.0, min_fps=2.0, threshold=1.01, stall_seconds=10,
                                     connect_timeout=10))
        deadline = time.monotonic() + 180
        while len(counts) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(5)  # warm-up: the adaptive rate settles
        before, busy0 = dict(counts), machine_busy()
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed, busy1 = time.monotonic() - t0, machine_busy()
        fps = [(counts.get(f"s{i}", 0) - before.get(f"s{i}", 0)) / elapsed for i in range(n)]
        recovery = await lose_a_node(cluster, placer, last) if kill else None
        await monitor.close()
    finally:
        cluster.shutdown()
    cpu = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * 100
    return {"min": min(fps), "mean": sum(fps) / n, "held": sum(f >= 9.5 for f in fps), "cpu": cpu,
            "total": sum(fps), "recovery": recovery}


async def lose_a_node(cluster, placer, last: dict[str, float]) -> tuple[int, float, float]:
    """Kill one worker node's processes; (streams moved, seconds until each of them scored again: max, mean)."""
    node = cluster.workers[0]
    moved = [name for name, s in placer.streams.items() if s.node == cluster.node_id(node)]
    killed = time.monotonic()
    cluster.kill(node)
    deadline = killed + 120
    while any(last.get(m, 0) <= killed + 0.5 for m in moved) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    back = [last[m] - killed for m in moved if last.get(m, 0) > killed + 0.5]
    if len(back) < len(moved):
        return len(moved), float("nan"), float("nan")
    return len(moved), max(back), sum(back) / len(back)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--skip-scans", action="store_true")
    ap.add_argument("--skip-streams", action="store_true")
    args = ap.parse_args()
    filter_native_logs()
    one_opencv_thread()  # as `deepfake-streamer` runs
    model = Model(args.model)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; model {model.manifest.name} "
          f"{model.manifest.version}", flush=True)
    if not args.skip_scans:
        path = long_file()
        print(f"file: {path.name} (120 s, 2880 frames, 640x360)", flush=True)
        fps = scans(model, path)
        print(f"scan ratios: parallel/sequential {fps['parallel'] / fps['sequential']:.2f}, "
              f"Ray two nodes/sequential {fps['ray'] / fps['sequential']:.2f}, "
              f"Ray/parallel {fps['ray'] / fps['parallel']:.2f}", flush=True)
    if not args.skip_streams:
        server = RtspServer(bench_clip()).start()
        try:
            results = {}
            for nodes in (1, 2):
                r = results[nodes] = asyncio.run(streams_on(nodes, args.model, server.url, args.streams, args.seconds,
                                                             kill=nodes == 2))
                print(f"{args.streams} streams on {nodes} node(s): analysed fps per stream min {r['min']:.1f} "
                      f"mean {r['mean']:.1f} (all streams {r['total']:.1f}); {r['held']} held >= 9.5 fps; "
                      f"machine CPU {r['cpu']:.0f}%", flush=True)
                if r["recovery"]:
                    moved, worst, mean = r["recovery"]
                    print(f"node lost: its {moved} streams scored again on the other node {mean:.1f} s (mean), "
                          f"{worst:.1f} s (last) after its processes were killed", flush=True)
            print(f"streams ratio: two nodes/one node analysed fps {results[2]['total'] / results[1]['total']:.2f}, "
                  f"streams held {results[1]['held']} -> {results[2]['held']}")
        finally:
            server.close()


if __name__ == "__main__":
    main()
