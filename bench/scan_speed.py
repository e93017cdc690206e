"""Scan speed: pipeline fps vs decode-only fps on the same real clip, in the same run.

    python bench/scan_speed.py [--model DIR] [--clip NAME_OR_PATH] [--repeat N]

Without a trained model in models/default (or --model), a random-weight model of the same
contract and input size is used and labelled as such.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamer.analyzer import Analyzer  # noqa: E402
from streamer.assets import ASSETS, asset_path  # noqa: E402
from streamer.cli import model_dir  # noqa: E402
from streamer.model import Model  # noqa: E402
from streamer.native_logs import filter_native_logs  # noqa: E402
from streamer.sources import file_frames, probe  # noqa: E402


def decode_fps(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    n = sum(1 for _ in file_frames(path))
    return n, n / (time.perf_counter() - start)


def pipeline_fps(path: Path, model: Model) -> tuple[int, float, int]:
    analyzer = Analyzer(model)
    faces = 0
    start = time.perf_counter()
    try:
        for frame in file_frames(path):
            faces += len(analyzer.process(frame).faces)
        n = analyzer.frames
    finally:
        analyzer.close()
    return n, n / (time.perf_counter() - start), faces


def batch_fps(paths: list[Path], model: Model) -> tuple[int, float, float]:
    """Scan several files at once, one thread each, through one shared inference service."""
    from concurrent.futures import ThreadPoolExecutor

    from streamer.inference import BatchedModel

    shared = BatchedModel(model)
    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(len(paths)) as pool:
            frames = sum(pool.map(lambda p: pipeline_fps(p, shared)[0], paths))
    finally:
        shared.close()
    return frames, frames / (time.perf_counter() - start), shared.stats["encode"].mean


def load(arg: str | None) -> tuple[Model, str]:
    path = model_dir(arg)
    if (path / "manifest.json").is_file():
        return Model(path), f"{path}"
    from tests.random_model import write_random_model

    tmp = Path(tempfile.mkdtemp())
    return Model(write_random_model(tmp, size=128, dim=128, window=16, stride=4)), "RANDOM-WEIGHT stand-in (no trained model found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--clip", default="WolfgangLanger_Pexels.mp4")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4, help="files scanned at once in the batch run")
    args = parser.parse_args()
    filter_native_logs()
    path = asset_path(args.clip) if args.clip in ASSETS else Path(args.clip)
    info = probe(path)
    model, label = load(args.model)
    print(f"clip: {path.name} {info.width}x{info.height} {info.fps:.2f} fps {info.duration:.1f} s")
    print(f"model: {label} (input {model.manifest.input_size} px)")
    best_decode, best_pipe = 0.0, 0.0
    for i in range(args.repeat):
        n, d_fps = decode_fps(path)
        m, p_fps, faces = pipeline_fps(path, model)
        best_decode, best_pipe = max(best_decode, d_fps), max(best_pipe, p_fps)
        print(f"run {i + 1}: decode-only {d_fps:7.1f} fps ({n} frames) | pipeline {p_fps:7.1f} fps "
              f"({m} frames, {faces} faces) | ratio {p_fps / d_fps:.3f}")
    realtime = best_pipe / info.fps if info.fps else float("nan")
    print(f"best: decode-only {best_decode:.1f} fps, pipeline {best_pipe:.1f} fps, "
          f"ratio {best_pipe / best_decode:.3f}, {realtime:.1f}x real time")
    if args.batch > 1:
        frames, fps, mean_batch = batch_fps([path] * args.batch, model)
        print(f"batch of {args.batch} files at once: {fps:.1f} fps in all ({frames} frames), "
              f"{fps / args.batch:.1f} fps per file, mean encoder batch {mean_batch:.1f}, "
              f"{fps / best_pipe:.2f}x the single-file pipeline")


if __name__ == "__main__":
    main()
