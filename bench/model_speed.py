"""Encoder speed of a model directory: ms per crop at several batch sizes (ONNX Runtime, CPU 1 thread or CUDA).

    python bench/model_speed.py [MODEL_DIR] [--runs 200] [--batch 1,16] [--provider cpu|cuda|tensorrt]

With --provider cuda or tensorrt (onnxruntime-gpu and a GPU; TensorRT also needs its libraries), the input is
copied to the GPU in every run, as the live pipeline does; the figure is the median time of one run divided by
the batch.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from streamer.core.model import load_cuda_libraries

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


def session(path: Path, provider: str = "cpu") -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    name = PROVIDERS[provider]
    if name not in ort.get_available_providers():
        raise SystemExit(f"{name} is not available in this onnxruntime ({ort.get_available_providers()}); "
                         "for cuda install onnxruntime-gpu (the gpu extra)")
    if provider != "cpu":
        load_cuda_libraries()
    sess = ort.InferenceSession(str(path), opts, providers=[name])
    if sess.get_providers()[0] != name:
        raise SystemExit(f"{name} could not be used: {sess.get_providers()}")
    return sess


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


def batches(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of batch sizes >= 1")
    return values


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path, nargs="?", default=Path(__file__).resolve().parents[1] / "models/default")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--batch", type=batches, default=[1, 16], help="batch sizes, comma-separated (default 1,16)")
    ap.add_argument("--provider", choices=sorted(PROVIDERS), default="cpu")
    ap.add_argument("--precision", choices=("float", "int8"), default="float",
                    help="the float encoder or the int8 one (files.encoder_int8: python -m export.quantize DIR)")
    args = ap.parse_args()
    manifest = json.loads((args.model_dir / "manifest.json").read_text())
    size = int(manifest["input_size"])
    role = "encoder" if args.precision == "float" else "encoder_int8"
    if role not in manifest["files"]:
        raise SystemExit(f"{args.model_dir} has no int8 encoder: run python -m export.quantize {args.model_dir}")
    sess = session(args.model_dir / manifest["files"][role]["path"], args.provider)
    where = "CPU, 1 thread" if args.provider == "cpu" else {"cuda": "CUDA", "tensorrt": "TensorRT"}[args.provider]
    for batch in args.batch:
        runs = args.runs if batch == 1 else max(10, args.runs // 8)
        ms = ms_per_crop(sess, size, batch, runs)
        print(f"encoder ({args.precision}) {size}px batch {batch:2d}: {ms:.3f} ms/crop "
              f"(ONNX Runtime {where}, median of {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
