"""The shared inference service under many callers: crops a second and call latency, through ``BatchedModel`` and
calling the model directly, for several numbers of callers.

    python bench/inference_service.py [--model DIR] [--callers 1,16] [--seconds 4] [--threads 1,2]

Each caller is a thread sending one crop at a time, as a stream's analysis does. ``--threads`` are the service's
worker threads to try (on CUDA it always runs one: see ``streamer/core/inference.py``; ``--threads 0`` is the
default, one per core). Printed per row: calls a second, p50 and p95 of a call, and the mean batch the model ran.
"""
from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

import numpy as np

from streamer.cli import load_model
from streamer.core.inference import BatchedModel


def load(call: Callable[[np.ndarray], object], crop: np.ndarray, callers: int, seconds: float) -> list[float]:
    """Every call's seconds, from ``callers`` threads calling for ``seconds``."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def caller() -> None:
        mine = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            call(crop)
            mine.append(time.perf_counter() - start)
        latencies.extend(mine)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def row(label: str, latencies: list[float], seconds: float, batch: float = 1.0) -> str:
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    rate = len(latencies) / seconds
    return f"{label:<44} {rate:8.0f} calls/s  p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  batch {batch:.1f}"


def numbers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--callers", type=numbers, default=[1, 16])
    parser.add_argument("--threads", type=numbers, default=[1, 0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    model = load_model(args.model)
    size = model.manifest.input_size
    crop = np.random.default_rng(0).integers(0, 255, (1, size, size, 3), dtype=np.uint8)
    print(f"model {model.manifest.name} {model.manifest.version} ({size} px) on {model.provider}", flush=True)
    for _ in range(20):
        model.encode(crop)
    for callers in args.callers:
        print(row(f"{callers} callers, the model directly", load(model.encode, crop, callers, args.seconds),
                  args.seconds), flush=True)
        for threads in args.threads:
            service = BatchedModel(model, threads=threads or None)
            try:
                latencies = load(service.encode, crop, callers, args.seconds)
                label = f"{callers} callers, the service on {service.threads} thread(s)"
                print(row(label, latencies, args.seconds, service.stats["encode"].mean), flush=True)
            finally:
                service.close()


if __name__ == "__main__":
    main()
