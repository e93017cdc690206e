"""`deepfake-streamer scan FILES/DIRS`: one file or many, here (worker processes) or on a Ray cluster."""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .. import timeline
from ..inference import default_threads
from ..model import Model
from ..sources import MediaError, probe
from . import Runner, scan_parallel
from .files import FileScan, scan_files, video_files
from .pool import SegmentPool

POOL_MIN_SECONDS = 60.0  # one shorter file is scanned here: starting the workers costs seconds
BAR = "{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}, {postfix}]"


def _engine(args: argparse.Namespace, model: Model, local: bool = True) -> tuple[Runner | None, int, int, Callable[[], None]]:
    """(segment runner, segments per file, files at once, close)."""
    if args.ray:
        from ..cluster.scans import RayScans

        ray_scans = RayScans(args.ray, model.dir)
        return ray_scans.run, ray_scans.parts, ray_scans.concurrency, ray_scans.close
    workers = args.workers or default_threads()
    if workers < 2 or not local:
        return None, 1, 1, lambda: None
    pool = SegmentPool(model.dir, workers)
    return pool.run, workers, workers, pool.close


def _bar(args: argparse.Namespace, total: float | None, desc: str):
    from tqdm import tqdm

    return tqdm(total=round(total, 2) if total else None, unit="s", desc=desc, disable=args.quiet, file=sys.stderr,
                bar_format=BAR)


def _progress(bar) -> Callable[[float, int], None]:
    def progress(seconds: float, frames: int) -> None:
        bar.n = min(seconds, bar.total) if bar.total else seconds
        bar.set_postfix_str(f"{frames} frames", refresh=False)
        bar.update(0)
    return progress


def run(args: argparse.Namespace, model: Model, table: Callable[[dict], str]) -> int:
    paths = video_files(args.video)
    if len(paths) == 1 and not Path(args.video[0]).is_dir():
        return _one(args, model, paths[0], table)
    return _many(args, model, paths)


def _one(args: argparse.Namespace, model: Model, path: Path, table: Callable[[dict], str]) -> int:
    info = probe(path)
    run_segments, parts, _, close = _engine(args, model, (info.duration or 0.0) >= POOL_MIN_SECONDS)
    try:
        with _bar(args, info.duration, path.name) as bar:
            result = scan_parallel(path, model, run_segments, parts, args.fps, _progress(bar))
            bar.n = bar.total or bar.n
            bar.refresh()
    finally:
        close()
    print(table(result))
    if args.json:
        timeline.write_json(result, Path(args.json))
    if args.csv:
        timeline.write_csv(result, Path(args.csv))
    return 0


def _durations(paths: list[Path]) -> tuple[list[Path], list[FileScan], float]:
    readable, failed, total = [], [], 0.0
    for path in paths:
        try:
            total += probe(path).duration or 0.0
            readable.append(path)
        except MediaError as exc:
            failed.append(FileScan(path, error=str(exc)))
    return readable, failed, total


def _many(args: argparse.Namespace, model: Model, paths: list[Path]) -> int:
    readable, done, total = _durations(paths)
    outputs = [Path(d) for d in (args.json, args.csv) if d]
    for d in outputs:
        d.mkdir(parents=True, exist_ok=True)
    run_segments, parts, concurrency, close = _engine(args, model)
    names: Counter = Counter()
    try:
        with _bar(args, total, f"{len(paths)} files") as bar:
            for item in done:
                bar.write(_line(item))
            def scan_one(path: Path, progress) -> dict:
                return scan_parallel(path, model, run_segments, parts, args.fps, progress, whole=True)

            for item in scan_files(readable, scan_one, concurrency, _progress(bar)):
                done.append(item)
                bar.write(_line(item))
                if item.timeline:
                    _write(args, item, names)
    finally:
        close()
    print(_totals(done))
    return 2 if any(item.error for item in done) else 0


def _write(args: argparse.Namespace, item: FileScan, names: Counter) -> None:
    names[item.path.stem] += 1
    stem = item.path.stem if names[item.path.stem] == 1 else f"{item.path.stem}-{names[item.path.stem]}"
    if args.json:
        timeline.write_json(item.timeline, Path(args.json) / f"{stem}.json")
    if args.csv:
        timeline.write_csv(item.timeline, Path(args.csv) / f"{stem}.csv")


def _line(item: FileScan) -> str:
    if item.error:
        return f"{item.path}: failed: {item.error}"
    s = timeline.summary(item.timeline)
    worst = "" if s["max_score"] is None else f", max score {s['max_score']:.3f}"
    return f"{item.path}: {s['verdict']} ({s['tracks']} tracks, {len(item.timeline['frames'])} frames{worst})"


def _totals(done: list[FileScan]) -> str:
    verdicts = Counter("failed" if i.error else timeline.summary(i.timeline)["verdict"] for i in done)
    parts = [f"{verdicts[v]} {v}" for v in ("fake", "uncertain", "real", "no faces", "failed") if verdicts[v]]
    return f"{len(done)} files: " + ", ".join(parts)
