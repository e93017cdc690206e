"""Scan speed: decode-only fps, the scan pipeline's fps and their ratio on the same real file, in one run.

    python bench/scan_speed.py [--model DIR] [--clip NAME_OR_PATH] [--repeat N] [--workers N]

The default file is the 2-minute real-face file of bench/compose.py (made once, cached). The pipeline is
``scan_file`` as `deepfake-streamer scan` runs it: decoding on its own thread, faces detected every few
frames and followed in between, a track's face encoded every few frames and the frames between carrying its
last score (``carried``); every frame of its timeline is checked to hold a score (or the quality gate's reason
for none). The every-frame path (``--every-frame``, detection and the encoder on every frame) runs once beside it, and
the faster path's accuracy against it is printed: the largest score gap, box IoU, track and file verdicts.
The segment-parallel scan runs in --workers processes (default: one per core), started and warm before it
is timed. Figures on a shared machine vary with its load, printed before and after.

Without a trained model in models/default (or --model), a random-weight model of the same
contract and input size is used and labelled as such.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
from compose import long_file  # noqa: E402
from sampling import compare  # noqa: E402

from streamer.files import timeline  # noqa: E402
from streamer.core.analyzer import SCAN, Analyzer  # noqa: E402
from streamer.runtime.assets import ASSETS, asset_path  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.core.inference import default_threads  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.runtime.opencv import one_opencv_thread  # noqa: E402
from streamer.files.scan import scan_file  # noqa: E402
from streamer.files.segments import SegmentPool, scan_parallel  # noqa: E402
from streamer.media.video import file_frames, prefetch, probe  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_MS: dict[str, list[float]] = {"decode": [], "sequential": []}  # CPU ms per frame, this process, per run


def decode_fps(path: Path, opencv_threads: int) -> tuple[int, float]:
    """Decoding alone at its fastest: FFmpeg's threads, and OpenCV's default threads for the RGB conversion."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(opencv_threads)
    try:
        start, c0 = time.perf_counter(), cpu()
        n = sum(1 for frame in file_frames(path) if frame.image is not None)  # every frame's RGB, as before
        CPU_MS["decode"].append((cpu() - c0) * 1000 / n)
        return n, n / (time.perf_counter() - start)
    finally:
        cv2.setNumThreads(before)


def pipeline_fps(path: Path, model: Model) -> tuple[int, float, int]:
    analyzer = Analyzer(model, sampling=SCAN)
    faces = 0
    start = time.perf_counter()
    try:
        for frame in prefetch(file_frames(path)):
            faces += len(analyzer.process(frame).faces)
        n = analyzer.frames
    finally:
        analyzer.close()
    return n, n / (time.perf_counter() - start), faces


def timed_scan(scan) -> tuple[dict, float]:
    start = time.perf_counter()
    result = scan()
    return result, len(result["frames"]) / (time.perf_counter() - start)


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


def check_scores(result: dict) -> tuple[int, int, int]:
    """(faces, carried, refused): every face of every frame holds a score, or the gate's reason for none."""
    faces = [f for frame in result["frames"] for f in frame["faces"]]
    assert all(f["score"] is not None or f["reason"] for f in faces), "a face without a score or a reason"
    assert all(f["score"] is not None for f in faces if f.get("carried")), "a carried face without a score"
    return len(faces), sum(bool(f.get("carried")) for f in faces), sum(f["score"] is None for f in faces)


def accuracy(every: dict, fast: dict, label: str) -> str:
    c = compare(every, fast, label)
    gaps = c.gaps or [0.0]
    same_file = timeline.summary(every)["verdict"] == timeline.summary(fast)["verdict"]
    return (f"{label} vs every frame: largest score gap {c.worst[0]:.4f} (at {c.worst[2]:.1f} s), mean "
            f"{sum(gaps) / len(gaps):.4f}; box IoU mean {sum(c.ious) / max(len(c.ious), 1):.3f}; faces missing "
            f"{c.missing}, extra {c.extra}; track verdicts agree {c.tracks_agree}/{c.tracks}; file verdict "
            f"{timeline.summary(fast)['verdict']} ({'agrees' if same_file else 'DIFFERS from ' + timeline.summary(every)['verdict']})"
            + "".join(f"\n       verdict changed: {t}" for t in c.changed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--clip", help="asset name or path (default: the composed 2-minute file)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of decode-only and the sampled scans")
    parser.add_argument("--workers", type=int, default=default_threads(), help="processes of the parallel scan")
    parser.add_argument("--batch", type=int, default=0, help="also: files scanned at once in one process")
    args = parser.parse_args()
    filter_native_logs()
    opencv_default = one_opencv_thread()  # as `deepfake-streamer` runs; decode-only keeps OpenCV's default
    path = long_file() if not args.clip else asset_path(args.clip) if args.clip in ASSETS else Path(args.clip)
    info = probe(path)
    model, label = load(args.model)
    print(f"clip: {path.name} {info.width}x{info.height} {info.fps:.2f} fps {info.duration:.1f} s")
    print(f"model: {label} (input {model.manifest.input_size} px, {model.precision} encoder); {default_threads()} "
          f"cores; scan sampling {SCAN}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (uptime)")
    c0 = cpu()
    every, e_fps = timed_scan(lambda: scan_file(path, model, every_frame=True))
    e_ms = (cpu() - c0) * 1000 / len(every["frames"])
    print(f"every frame (today's path, --every-frame): {e_fps:6.1f} fps, {e_ms:.2f} ms CPU a frame", flush=True)
    pool = SegmentPool(model.dir, args.workers)
    t = time.perf_counter()
    pool.warm()
    print(f"parallel: {args.workers} worker processes started and loaded in {time.perf_counter() - t:.1f} s")
    best = {"decode": 0.0, "seq": 0.0, "par": 0.0}
    try:
        for i in range(args.repeat):
            n, d_fps = decode_fps(path, opencv_default)
            c0 = cpu()
            seq, s_fps = timed_scan(lambda: scan_file(path, model))
            CPU_MS["sequential"].append((cpu() - c0) * 1000 / len(seq["frames"]))
            par, p_fps = timed_scan(lambda: scan_parallel(path, model, pool.run, pool.workers))
            for key, value in (("decode", d_fps), ("seq", s_fps), ("par", p_fps)):
                best[key] = max(best[key], value)
            (faces, carried, refused), (p_faces, p_carried, _) = check_scores(seq), check_scores(par)
            assert len(seq["frames"]) == len(par["frames"]) == len(every["frames"]) == n
            print(f"run {i + 1}: decode-only {d_fps:6.1f} fps ({n} frames) | pipeline {s_fps:6.1f} fps "
                  f"({faces} faces: {carried} carried, {refused} refused by the gate, the rest scored) | parallel "
                  f"{p_fps:6.1f} fps ({p_carried} of {p_faces} carried) | pipeline/decode {s_fps / d_fps:.3f}, "
                  f"parallel/decode {p_fps / d_fps:.3f}", flush=True)
        print(accuracy(every, seq, "pipeline"))
        print(accuracy(every, par, "parallel"))
    finally:
        pool.close()
    d, s_, p = best["decode"], best["seq"], best["par"]
    print(f"best: decode-only {d:.1f} fps, pipeline {s_:.1f} fps ({s_ / d:.3f} of decode-only; goal 0.5), parallel "
          f"{p:.1f} fps ({p / d:.3f} of decode-only, {p / info.fps:.1f}x real time); every frame {e_fps:.1f} fps "
          f"({e_fps / d:.3f})")
    d_ms, s_ms = min(CPU_MS["decode"]), min(CPU_MS["sequential"])
    cores = default_threads()
    print(f"CPU per frame (this process, least of the runs): decode-only {d_ms:.2f} ms, pipeline {s_ms:.2f} ms, "
          f"every frame {e_ms:.2f} ms; so {cores} fully used cores analyse at most {cores * 1000 / s_ms:.0f} fps, "
          f"{cores * 1000 / s_ms / d:.2f} of this run's best decode-only")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.batch > 1:
        frames, fps, mean_batch = batch_fps([path] * args.batch, model)
        print(f"batch of {args.batch} files at once: {fps:.1f} fps in all ({frames} frames), "
              f"{fps / args.batch:.1f} fps per file, mean encoder batch {mean_batch:.1f}, "
              f"{fps / s_:.2f}x the single-file pipeline")


if __name__ == "__main__":
    main()
