"""How many live 640x480 30 fps streams one machine analyses at >= 10 fps each.

    python bench/streams.py [--model DIR] [--probe 15] [--hold 60] [--start 1] [--max 24] [--step 1|x2]
    python bench/streams.py --streams 20 [--hold 60]     # hold exactly 20 streams for 60 s
    python bench/streams.py --streams 20 --workers 2     # in two stream worker processes (serve --stream-workers 2)

Every stream is a real RTSP session from a local gst-rtsp-server (a real face clip, paced in real time; where that
server is missing, ``--camera http`` serves the clip as live MPEG-TS over HTTP), decoded, detected and scored
through one shared, micro-batched inference service (one worker thread per core), with the live sampling of `serve`
(faces detected every few frames and followed between, a track's face encoded every few frames and its scores
carried between; ``--every-frame`` analyses every frame fully). N rises until a stream's analysed fps falls below
the bar or latency grows; the largest N that passed its probe is then held for --hold seconds and reported with CPU
use (in all and by thread kind), per-stream fps, latency p50/p95 and dropped frames. The clip is x264 with
B-frames: as in `serve`, a reader decodes only the frames others refer to (about half of them here) while those
come 1.15x as often as its analysis takes frames (a camera without B-frames decodes all). The machine's load
average is printed beside every figure: on a shared machine the figures are a floor.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import sys
import time

from live_streams import StreamRun, bench_clip, cores_by_kind, cpu_seconds, thread_cpu
from rtsp import HttpCamera, RtspServer, has_rtsp_server

from streamer.cli import load_model
from streamer.core.analyzer import LIVE
from streamer.live.pipeline import set_live_every_frame
from streamer.live.supervisor import REFERENCE_FRAMES
from streamer.runtime.memory import pin_mmap_threshold
from streamer.runtime.opencv import one_opencv_thread
from streamer.runtime.logs import filter_native_logs

BAR_FPS = 10.0


async def measure(model, url: str, n: int, seconds: float, ceiling: float, floor: float, workers: int) -> dict:
    run = StreamRun(model, url, n, ceiling, floor, workers=workers)
    run.start()
    try:
        await run.wait_live(30 + 3 * n)  # each stream sets its detector up in turn
        await asyncio.sleep(3)  # warm-up: detectors, the adaptive rate
        c0, t0, counts0, threads0, w0 = cpu_seconds(), time.monotonic(), run.counts(), thread_cpu(), run.worker_cpu()
        await asyncio.sleep(seconds)
        c1, t1, counts1, threads1, w1 = cpu_seconds(), time.monotonic(), run.counts(), thread_cpu(), run.worker_cpu()
        by_kind = cores_by_kind(threads0, threads1, t1 - t0)
        if workers > 1:
            by_kind = {"stream worker processes": (w1 - w0) / (t1 - t0), **by_kind}
        fps = {k: (counts1[k] - counts0.get(k, 0)) / (t1 - t0) for k in counts1}
        first = run.latency_percentile(t0, t0 + 5, 50)
        last = run.latency_percentile(t1 - 5, t1, 50)
        snapshots = run.snapshots()
        dropped = sum(s.get("frames_dropped", 0) for s in snapshots)
        reconnects = sum(s.get("reconnects", 0) for s in snapshots)
        refs_only = sum(s.get("decoding") == REFERENCE_FRAMES for s in snapshots)
        batch = run.shared.stats["encode"].mean if workers == 1 else float("nan")
    finally:
        await run.close()
    return {"n": n, "fps": fps, "min_fps": min(fps.values()), "cpu": (c1 - c0 + w1 - w0) / (t1 - t0),
            "p50_first": first, "p50_last": last, "p95": run.latency_percentile(t0, t1, 95),
            "dropped": dropped, "reconnects": reconnects, "batch": batch, "by_kind": by_kind,
            "refs_only": refs_only}


def step(text: str):
    """``K`` -> n + K, ``xK`` -> n * K (always at least n + 1)."""
    try:
        k = float(text[1:]) if text.startswith("x") else int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("a number (+K) or xK") from exc
    if k <= (1 if text.startswith("x") else 0):
        raise argparse.ArgumentTypeError("N must rise")
    return (lambda n: max(n + 1, int(n * k))) if text.startswith("x") else (lambda n: n + k)


def passed(r: dict) -> bool:
    grew = r["p50_last"] > max(2 * r["p50_first"], r["p50_first"] + 50)
    return r["min_fps"] >= BAR_FPS and not grew and not math.isnan(r["p50_last"])


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min)"


def show(label: str, r: dict) -> None:
    per = " ".join(f"{v:.1f}" for v in r["fps"].values())
    print(f"{label} N={r['n']:2d}: analysed fps per stream min {r['min_fps']:.1f} [{per}] | "
          f"latency p50 {r['p50_first']:.0f} -> {r['p50_last']:.0f} ms, p95 {r['p95']:.0f} ms | "
          f"CPU {r['cpu'] * 100:.0f}% of one core | mean encoder batch {r['batch']:.1f} | "
          f"drops {r['dropped']} reconnects {r['reconnects']} | {load()} | {'PASS' if passed(r) else 'FAIL'}",
          flush=True)
    print("    cores by thread kind: " + ", ".join(f"{k} {v:.2f}" for k, v in r["by_kind"].items() if v >= 0.005)
          + f" | {r['refs_only']} of {r['n']} readers decode reference frames only", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--probe", type=float, default=15.0, help="seconds measured per N while rising")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds the best N must hold")
    parser.add_argument("--start", type=int, default=1)
    parser.add_argument("--max", type=int, default=24)
    parser.add_argument("--step", type=step, default=step("1"),
                        help="how N rises between probes: +K (a number) or xK (times K: x2 doubles)")
    parser.add_argument("--streams", type=int, help="hold exactly this many streams for --hold seconds (no rise)")
    parser.add_argument("--ceiling", type=float, default=30.0, help="most analysed fps per stream")
    parser.add_argument("--workers", type=int, default=1,
                        help="run the streams in this many worker processes (as `serve --stream-workers N`)")
    parser.add_argument("--camera", choices=("rtsp", "http"),
                        help="rtsp: Debian's gst-rtsp-server (the default where it is installed); http: the clip as a "
                             "live MPEG-TS over HTTP (bench/http_camera.py), for machines without it")
    parser.add_argument("--every-frame", action="store_true",
                        help="detect and encode every analysed frame (as `serve --live-every-frame`)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the camera server is closed on the way out
    pin_mmap_threshold()  # before the model loads, as `deepfake-streamer serve` and `monitor` do
    filter_native_logs()
    one_opencv_thread()  # as `deepfake-streamer` runs
    set_live_every_frame(args.every_frame)
    model = load_model(args.model)
    camera = args.camera or ("rtsp" if has_rtsp_server() else "http")
    server = (RtspServer if camera == "rtsp" else HttpCamera)(bench_clip()).start()
    print(f"{os.cpu_count()} cores, {load()}; model {model.manifest.name} {model.manifest.version} "
          f"({model.manifest.input_size} px); source {server.url} 640x480 30 fps; live sampling "
          f"{'every frame' if args.every_frame else LIVE}", flush=True)
    best = None
    try:
        if args.streams:
            r = await measure(model, server.url, args.streams, args.hold, args.ceiling, 2.0, args.workers)
            show(f"hold {args.hold:.0f}s", r)
            print(f"{args.streams} streams held for {args.hold:.0f} s at >= {BAR_FPS:.0f} fps each: "
                  f"{'yes' if passed(r) else 'no'}; latency p95 {r['p95']:.0f} ms; camera used "
                  f"{server.cpu_seconds():.0f} CPU-seconds in all", flush=True)
            return
        n = args.start
        while n <= args.max:
            r = await measure(model, server.url, n, args.probe, args.ceiling, 2.0, args.workers)
            show("probe", r)
            if not passed(r):
                break
            best, n = n, args.step(n)
        if best:
            r = await measure(model, server.url, best, args.hold, args.ceiling, 2.0, args.workers)
            show(f"hold {args.hold:.0f}s", r)
            print(f"largest N held for {args.hold:.0f} s at >= {BAR_FPS:.0f} fps per stream: "
                  f"{best if passed(r) else 'none (the hold failed)'}; camera used "
                  f"{server.cpu_seconds():.0f} CPU-seconds in all")
        else:
            print("no N passed")
    finally:
        server.close()


if __name__ == "__main__":
    asyncio.run(main())
