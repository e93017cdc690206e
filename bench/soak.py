"""Staying power: 4 live streams for 15 minutes; resident memory after a warm-up and at the end, growth per hour.

    python bench/soak.py [--model DIR] [--streams 4] [--minutes 15] [--warmup 60] [--source reconnect|loop]
                         [--sample 10] [--trim-every 30] [--mmap-threshold 128] [--no-arena]

``--source reconnect`` (the default) serves the 80 s bench clip, so every stream reconnects each time it
ends, as a camera that drops out would; ``--source loop`` serves the clip repeated to outlast the run, so
no stream reconnects (steady state only). RSS "start" is taken after ``--warmup`` seconds of live analysis
(model sessions, detectors and buffers allocated), then sampled every ``--sample`` seconds. Printed: RSS at
start and end, the growth extrapolated to an hour, and the trend (a least-squares line through
all samples, and through those of the second half) per hour; glibc's in-use and free-but-kept heap
alongside each sample. Bar: growth under 5 % per hour, judged by the fit over all samples (single samples
swing by several MB with the frames in flight, so end-versus-start is printed but is noisy on short runs).
``--trim-every 0`` turns the heap upkeep off (streamer/runtime/memory.py), to compare; otherwise the mmap threshold
is pinned at ``--mmap-threshold`` KiB before the model loads, as ``deepfake-streamer serve`` and ``monitor`` do.
"""
from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from live_streams import StreamRun, bench_clip, cpu_seconds, long_clip
from rtsp import RtspServer

from streamer.cli import load_model
from streamer.runtime.memory import MMAP_THRESHOLD, heap_stats, pin_mmap_threshold, rss_mb
from streamer.runtime.opencv import one_opencv_thread
from streamer.runtime.logs import filter_native_logs

Sample = tuple[float, float]  # (seconds since the warm-up ended, RSS MB)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=15.0, help="measured time after the warm-up")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of live analysis before RSS start")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--source", choices=("reconnect", "loop"), default="reconnect")
    parser.add_argument("--trim-every", type=float, default=30.0,
                        help="the monitor's heap-trim period in seconds (0: no heap upkeep at all, "
                             "neither trimming nor a pinned mmap threshold)")
    parser.add_argument("--mmap-threshold", type=int, default=MMAP_THRESHOLD // 1024,
                        help="KiB; blocks this big and bigger get their own mmap (pinned at start-up)")
    parser.add_argument("--no-arena", action="store_true", help="ONNX Runtime without its CPU memory arena")
    return parser.parse_args()


def sample_line(elapsed: float, run: StreamRun) -> str:
    heap = heap_stats()
    heap_text = f"heap in use {heap.in_use_mb:6.1f} MB, free {heap.free_mb:5.1f} MB  " if heap else ""
    streams = run.monitor.streams.values()
    return (f"{elapsed / 60:5.1f} min  RSS {rss_mb():7.1f} MB  {heap_text}analysed {sum(run.counts().values())} "
            f"frames  reconnects {sum(s.source.reconnects for s in streams)}")


def slope_per_hour(samples: list[Sample], base: float) -> float:
    """The least-squares RSS slope through ``samples`` in % of ``base`` per hour (nan for under 3 samples)."""
    if len(samples) < 3:
        return float("nan")
    slope = float(np.polyfit([t for t, _ in samples], [r for _, r in samples], 1)[0])
    return slope * 3600 / base * 100


def report(samples: list[Sample]) -> str:
    """Start and end, and growth per hour three ways; the verdict goes by the fit over every sample.

    RSS swings by several MB from one sample to the next (frames in flight, buffers of a reconnect), so the
    end-versus-start extrapolation of a short run mostly measures where two swings happened to fall; the
    least-squares line through all samples is the steady trend."""
    (t0, r0), (t1, r1) = samples[0], samples[-1]
    per_hour = (r1 - r0) / r0 * 100 * 3600 / max(t1 - t0, 1)
    trend = slope_per_hour(samples, r0)
    verdict = "meets" if trend < 5 else "misses"
    return (f"RSS start (after warm-up) {r0:.1f} MB, end {r1:.1f} MB over {(t1 - t0) / 60:.1f} min "
            f"({len(samples)} samples, min {min(r for _, r in samples):.1f}, max {max(r for _, r in samples):.1f}): "
            f"growth {(r1 - r0) / r0 * 100:+.2f} %, {per_hour:+.2f} % per hour extrapolated from end vs start; "
            f"trend (least-squares fit) {trend:+.2f} % per hour over all samples, "
            f"{slope_per_hour(samples[len(samples) // 2:], r0):+.2f} % per hour over the second half "
            f"({verdict} the < 5 % per hour bar by the trend over all samples)")


async def soak(run: StreamRun, args: argparse.Namespace) -> list[Sample]:
    run.start()
    await run.wait_live()
    print(f"live; warming up for {args.warmup:g} s  RSS {rss_mb():.1f} MB", flush=True)
    await asyncio.sleep(args.warmup)
    samples: list[Sample] = []
    start, cpu0, frames0 = time.monotonic(), cpu_seconds(), sum(run.counts().values())
    while True:
        elapsed = time.monotonic() - start
        samples.append((elapsed, rss_mb()))
        print(sample_line(elapsed, run), flush=True)
        if elapsed >= args.minutes * 60:
            frames = sum(run.counts().values()) - frames0
            print(f"{frames / elapsed:.1f} frames analysed per second, "
                  f"{(cpu_seconds() - cpu0) / max(frames, 1) * 1000:.1f} ms of CPU per analysed frame")
            return samples
        await asyncio.sleep(min(args.sample, max(args.minutes * 60 - elapsed, 0.5)))


async def main() -> None:
    args = parse_args()
    pinned = args.trim_every > 0 and pin_mmap_threshold(args.mmap_threshold * 1024)  # before anything loads
    filter_native_logs()
    one_opencv_thread()  # as `deepfake-streamer` runs
    model = load_model(args.model, arena=not args.no_arena)
    clip = bench_clip() if args.source == "reconnect" else long_clip(args.warmup + args.minutes * 60 + 120)
    print(f"{args.streams} streams at {args.fps:g} fps from {clip.name} ({args.source}); "
          f"heap upkeep {f'every {args.trim_every:g} s' if args.trim_every > 0 else 'off'}; "
          f"mmap threshold {f'pinned at {args.mmap_threshold} KiB' if pinned else 'glibc default'}; ONNX Runtime arena {'off' if args.no_arena else 'on'}", flush=True)
    server = RtspServer(clip).start()
    run = StreamRun(model, server.url, args.streams, args.fps, 2.0, keep_latencies=False, trim_every=args.trim_every)
    try:
        samples = await soak(run, args)
    finally:
        await run.close()
        server.close()
    print(report(samples))


if __name__ == "__main__":
    asyncio.run(main())
