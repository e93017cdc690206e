"""Encoder speed of a model directory: ms per crop at several batch sizes (ONNX Runtime, CPU 1 thread or CUDA).

    python bench/model_speed.py [MODEL_DIR] [--runs 200] [--batch 1,16] [--provider cpu|cuda|tensorrt]
    python bench/model_speed.py --part temporal      # the temporal head: ms per window
    python bench/model_speed.py --mixed              # the batch sizes in turn, as the inference service sends them

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


def inputs(sess: ort.InferenceSession, shape: tuple[int, ...], batch: int) -> dict[str, np.ndarray]:
    """One batch of random input for the model's single input ((batch, *shape))."""
    return {sess.get_inputs()[0].name: np.random.default_rng(0).normal(0, 1, (batch, *shape)).astype(np.float32)}


def ms_per_item(sess: ort.InferenceSession, shape: tuple[int, ...], sizes: list[int], runs: int,
                warmup: int = 20) -> float:
    """Median ms per item of a run, the runs cycling through the batch ``sizes``."""
    feeds = [inputs(sess, shape, batch) for batch in sizes]
    for i in range(warmup * len(sizes)):
        sess.run(None, feeds[i % len(feeds)])
    times = []
    for i in range(runs):
        t = time.perf_counter()
        sess.run(None, feeds[i % len(feeds)])
        times.append((time.perf_counter() - t) / sizes[i % len(sizes)])
    return statistics.median(times) * 1000.0


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
    ap.add_argument("--part", choices=("encoder", "temporal"), default="encoder")
    ap.add_argument("--mixed", action="store_true", help="run the --batch sizes in turn and give one figure")
    args = ap.parse_args()
    manifest = json.loads((args.model_dir / "manifest.json").read_text())
    role = "temporal" if args.part == "temporal" else "encoder" if args.precision == "float" else "encoder_int8"
    if role not in manifest["files"]:
        raise SystemExit(f"{args.model_dir} has no int8 encoder: run python -m export.quantize {args.model_dir}")
    sess = session(args.model_dir / manifest["files"][role]["path"], args.provider)
    where = "CPU, 1 thread" if args.provider == "cpu" else {"cuda": "CUDA", "tensorrt": "TensorRT"}[args.provider]
    size = int(manifest["input_size"])
    shape = (int(manifest["window"]), int(manifest["embedding_dim"])) if args.part == "temporal" else (3, size, size)
    what = "temporal head, ms/window" if args.part == "temporal" else f"encoder ({args.precision}) {size}px, ms/crop"
    for sizes in [args.batch] if args.mixed else [[batch] for batch in args.batch]:
        runs = args.runs if sizes == [1] else max(10 * len(sizes), args.runs // 8)
        ms = ms_per_item(sess, shape, sizes, runs)
        print(f"{what}, batch {','.join(map(str, sizes))}: {ms:.3f} (ONNX Runtime {where}, median of {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
