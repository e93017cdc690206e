"""Scan speed: decode-only, sequential and segment-parallel fps on the same real file, in the same run.

    python bench/scan_speed.py [--model DIR] [--clip NAME_OR_PATH] [--repeat N] [--workers N]

The default file is the 2-minute real-face file of bench/compose.py (made once, cached). The parallel
scan runs in --workers processes (default: one per core), started and warm before it is timed (their
start-up is printed apart); every frame is analysed in every run.

Without a trained model in models/default (or --model), a random-weight model of the same
contract and input size is used and labelled as such.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compose import long_file  # noqa: E402

from streamer.core.analyzer import Analyzer  # noqa: E402
from streamer.runtime.assets import ASSETS, asset_path  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.core.inference import default_threads  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.files.scan import scan_file  # noqa: E402
from streamer.files.segments import SegmentPool, scan_parallel  # noqa: E402
from streamer.media.video import file_frames, probe  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_MS: dict[str, list[float]] = {"decode": [], "sequential": []}  # CPU ms per frame, this process, per run


def decode_fps(path: Path) -> tuple[int, float]:
    start, c0 = time.perf_counter(), cpu()
    n = sum(1 for _ in file_frames(path))
    CPU_MS["decode"].append((cpu() - c0) * 1000 / n)
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


def timed_scan(scan) -> tuple[dict, float]:
    start = time.perf_counter()
    result = scan()
    return result, len(result["frames"]) / (time.perf_counter() - start)


def score_gap(whole: dict, parts: dict) -> tuple[float, int, int]:
    """Largest |score difference| of the parallel scan from the sequential one, faces compared, faces that differ
    in anything but the score (track id, box, verdict of an unscored face): should be 0."""
    worst, faces, other = 0.0, 0, 0
    for a, b in zip(whole["frames"], parts["frames"], strict=True):
        for fa, fb in zip(a["faces"], b["faces"], strict=True):
            faces += 1
            other += (fa["track_id"], fa["box"], fa["reason"]) != (fb["track_id"], fb["box"], fb["reason"])
            if fa["score"] is not None and fb["score"] is not None:
                worst = max(worst, abs(fa["score"] - fb["score"]))
    return worst, faces, other


def batch_fps(paths: list[Path], model: Model) -> tuple[int, float, float]:
    """Scan several files at once, one thread each, through one shared inference service."""
    from concurrent.futures import ThreadPoolExecutor

    from streamer.core.inference import BatchedModel

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
    from export.random_model import write_random_model

    tmp = Path(tempfile.mkdtemp())
    return Model(write_random_model(tmp, size=128, dim=128, window=16, stride=4)), "RANDOM-WEIGHT stand-in (no trained model found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--clip", help="asset name or path (default: the composed 2-minute file)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", type=int, default=default_threads(), help="processes of the parallel scan")
    parser.add_argument("--batch", type=int, default=0, help="also: files scanned at once in one process")
    args = parser.parse_args()
    filter_native_logs()
    path = long_file() if not args.clip else asset_path(args.clip) if args.clip in ASSETS else Path(args.clip)
    info = probe(path)
    model, label = load(args.model)
    print(f"clip: {path.name} {info.width}x{info.height} {info.fps:.2f} fps {info.duration:.1f} s")
    print(f"model: {label} (input {model.manifest.input_size} px); {default_threads()} cores")
    pool = SegmentPool(model.dir, args.workers)
    t = time.perf_counter()
    pool.warm()
    print(f"parallel: {args.workers} worker processes started and loaded in {time.perf_counter() - t:.1f} s")
    best = {"decode": 0.0, "seq": 0.0, "par": 0.0}
    try:
        for i in range(args.repeat):
            n, d_fps = decode_fps(path)
            c0 = cpu()
            whole, s_fps = timed_scan(lambda: scan_file(path, model))
            CPU_MS["sequential"].append((cpu() - c0) * 1000 / len(whole["frames"]))
            parts, p_fps = timed_scan(lambda: scan_parallel(path, model, pool.run, pool.workers))
            m, k = len(whole["frames"]), len(parts["frames"])
            faces, p_faces = (sum(len(f["faces"]) for f in t["frames"]) for t in (whole, parts))
            for key, value in (("decode", d_fps), ("seq", s_fps), ("par", p_fps)):
                best[key] = max(best[key], value)
            print(f"run {i + 1}: decode-only {d_fps:6.1f} fps ({n} frames) | sequential {s_fps:6.1f} fps ({m} frames, "
                  f"{faces} faces) | parallel {p_fps:6.1f} fps ({k} frames, {p_faces} faces) | "
                  f"sequential/decode {s_fps / d_fps:.3f}, parallel/decode {p_fps / d_fps:.3f}", flush=True)
            worst, compared, other = score_gap(whole, parts)
            print(f"       parallel vs sequential: largest score difference {worst:.4f} over {compared} faces "
                  f"({other} differ in track id, box or reason)", flush=True)
    finally:
        pool.close()
    d, s_, p = best["decode"], best["seq"], best["par"]
    print(f"best: decode-only {d:.1f} fps, sequential {s_:.1f} fps ({s_ / d:.3f} of decode), parallel {p:.1f} fps "
          f"({p / d:.3f} of decode, {p / s_:.2f}x sequential, {p / info.fps:.1f}x real time)")
    d_ms, s_ms = min(CPU_MS["decode"]), min(CPU_MS["sequential"])
    cores = default_threads()
    print(f"CPU per frame (this process, least of the runs): decode-only {d_ms:.2f} ms, whole pipeline {s_ms:.2f} ms; "
          f"so {cores} fully used cores analyse at most {cores * 1000 / s_ms:.0f} fps, "
          f"{cores * 1000 / s_ms / d:.2f} of this run's best decode-only: the bound on parallel/decode here")
    if args.batch > 1:
        frames, fps, mean_batch = batch_fps([path] * args.batch, model)
        print(f"batch of {args.batch} files at once: {fps:.1f} fps in all ({frames} frames), "
              f"{fps / args.batch:.1f} fps per file, mean encoder batch {mean_batch:.1f}, "
              f"{fps / s_:.2f}x the single-file pipeline")


if __name__ == "__main__":
    main()
