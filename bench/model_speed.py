"""Encoder speed of a model directory: ms per crop at batch 1 and 16 (ONNX Runtime, CPU, 1 thread).

    python bench/model_speed.py [MODEL_DIR] [--runs 200]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ms_per_crop(sess: ort.InferenceSession, size: int, batch: int, runs: int, warmup: int = 20) -> float:
    x = np.random.default_rng(0).normal(0, 1, (batch, 3, size, size)).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {"crops": x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {"crops": x})
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000.0 / batch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path, nargs="?", default=Path(__file__).resolve().parents[1] / "models/default")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    manifest = json.loads((args.model_dir / "manifest.json").read_text())
    size = int(manifest["input_size"])
    sess = session(args.model_dir / manifest["files"]["encoder"]["path"])
    for batch in (1, 16):
        runs = args.runs if batch == 1 else max(10, args.runs // 8)
        print(f"encoder {size}px batch {batch:2d}: {ms_per_crop(sess, size, batch, runs):.2f} ms/crop "
              f"(ONNX Runtime CPU, 1 thread, median of {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
