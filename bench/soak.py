"""Staying power: 4 live streams for 15 minutes; resident memory at start and end, growth per hour.

    python bench/soak.py [--model DIR] [--streams 4] [--minutes 15]

RSS is sampled every 30 s after a 60 s warm-up (model sessions, detectors and buffers allocated).
Bar: growth under 5 % per hour.
"""
from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from live_streams import RtspServer, StreamRun, bench_clip, rss_mb

from streamer.cli import load_model
from streamer.native_logs import filter_native_logs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args()
    filter_native_logs()
    model = load_model(args.model)
    server = RtspServer(bench_clip())
    run = StreamRun(model, server.url, args.streams, args.fps, 2.0, keep_latencies=False)
    samples: list[tuple[float, float]] = []
    try:
        run.start()
        await run.wait_live()
        await asyncio.sleep(60)
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < args.minutes * 60:
            samples.append((elapsed, rss_mb()))
            counts = run.counts()
            print(f"{elapsed / 60:5.1f} min  RSS {samples[-1][1]:7.1f} MB  analysed {sum(counts.values())} frames  "
                  f"reconnects {sum(s.stats.reconnects for s in run.monitor.streams.values())}", flush=True)
            await asyncio.sleep(30)
        samples.append((time.monotonic() - start, rss_mb()))
    finally:
        await run.close()
        server.close()
    (t0, r0), (t1, r1) = samples[0], samples[-1]
    per_hour = (r1 - r0) / r0 * 100 * 3600 / max(t1 - t0, 1)
    late = samples[len(samples) // 2:]
    slope = float(np.polyfit([t for t, _ in late], [r for _, r in late], 1)[0]) if len(late) > 2 else float("nan")
    print(f"RSS start {r0:.1f} MB, end {r1:.1f} MB over {(t1 - t0) / 60:.1f} min: growth {(r1 - r0) / r0 * 100:+.2f} %, "
          f"{per_hour:+.2f} % per hour extrapolated ({'meets' if per_hour < 5 else 'misses'} the < 5 % per hour bar); "
          f"second-half trend {slope * 3600 / r0 * 100:+.2f} % per hour")


if __name__ == "__main__":
    asyncio.run(main())
