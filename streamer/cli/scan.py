"""`deepfake-streamer scan FILE|FOLDER...`: videos and photos, one progress bar and one table for a batch."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from ..cluster.engine import POOL_MIN_SECONDS, Engine, scan_engine
from ..core.model_dir import model_dir
from ..files import timeline
from ..files.report import write_report
from ..files.scan import probe_media, scan_file
from ..files.segments import scan_parallel
from ..media.images import EXTENSIONS as IMAGE_EXTENSIONS
from ..media.images import is_photo
from ..media.video import VIDEO_EXTENSIONS, MediaError, VideoInfo


def add_arguments(scan: argparse.ArgumentParser, positive) -> None:
    scan.add_argument("inputs", nargs="+", metavar="FILE",
                      help="video files, photos (JPEG, PNG, WebP) or folders of them (told apart by content)")
    scan.add_argument("--json", metavar="OUT", help="write the whole timeline as JSON (a batch: a list of timelines)")
    scan.add_argument("--csv", metavar="OUT", help="write one row per face per frame as CSV (a batch: with a "
                      "leading source column)")
    scan.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report (a batch: one "
                      "section per file)")
    scan.add_argument("--fps", type=positive, help="analyse at most N frames per second (default: every frame)")
    scan.add_argument("--every-frame", action="store_true",
                      help="detect faces and run the model on every analysed frame (slower); by default faces are "
                           "followed between detections and frames between a track's windows carry its last score "
                           "(marked carried in the timeline)")
    scan.add_argument("--model", metavar="DIR", help="model directory (default: $DFS_MODEL_DIR or models/default)")
    scan.add_argument("--quiet", action="store_true", help="no progress bar")
    scan.add_argument("--workers", type=_count, metavar="N",
                      help="worker processes: a long video is split at keyframes and its segments scanned at once "
                           "(default: one per CPU core; 1: all in this process)")
    scan.add_argument("--ray", metavar="ADDRESS",
                      help="scan on a Ray cluster: 'auto' (the cluster `ray start` made on this machine) or the "
                           "head's HOST:PORT; needs the cluster extra: pip install 'deepfake-streamer[cluster]'")


def _count(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def expand(inputs: list[str]) -> tuple[list[Path], bool]:
    """The files to scan, and whether this is a batch (several files or a folder). Folders: media by extension."""
    files: list[Path] = []
    folder = False
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            folder = True
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS)
            if not found:
                raise MediaError(f"{path}: no photos or videos in this folder")
            files += found
        else:
            files.append(path)
    return files, folder or len(files) > 1


def check_output_path(path: Path) -> None:
    """Before the scan starts: an output path that cannot be written fails now, not after minutes of work."""
    if path.is_dir():
        raise MediaError(f"{path}: is a folder; give a file name to write")
    if not path.parent.is_dir():
        raise MediaError(f"{path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MediaError(f"{path}: cannot be written (permission denied)")


# tqdm puts ", " before a non-empty postfix itself
BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}{postfix}]"


def progress_bar(name: str, total: float | None, quiet: bool, file=None):
    return tqdm(total=total, unit="s", desc=name, disable=quiet, file=file or sys.stderr, bar_format=BAR_FORMAT)


def run_scan(args: argparse.Namespace, load_model) -> int:
    for out in (args.json, args.csv, args.report):
        if out:
            check_output_path(Path(out))
    files, batch = expand(args.inputs)
    info = None if batch else probe_media(files[0])  # a bad file fails before the model loads
    model = load_model(args.model)
    if info is not None and is_photo(info):  # one photo: no segments to spread
        results = [(files[0], scan_file(files[0], model, args.fps, info=info))]
    elif info is not None:
        results = [(files[0], _scan_video(files[0], model, args, info))]
    else:
        engine = scan_engine(model, args.workers, args.ray)
        try:
            results = _scan_batch(files, model, args, engine)
        finally:
            engine.close()
    done = [(path, r) for path, r in results if isinstance(r, dict)]
    print(batch_table(results) if batch else single_table(done[0][1]))
    _write_outputs(args, [r for _, r in done], batch)
    return 0 if len(done) == len(results) else 1


def _scan_video(path: Path, model, args: argparse.Namespace, info: VideoInfo) -> dict:
    """One video, split into segments scanned at once when it is long enough to gain from it."""
    total = round(info.duration, 2) if info.duration else None
    engine = scan_engine(model, args.workers, args.ray, (info.duration or 0.0) >= POOL_MIN_SECONDS)
    try:
        with progress_bar(path.name, total, args.quiet) as bar:
            def progress(pts: float, frames: int) -> None:
                bar.n = min(pts, total) if total else pts
                bar.set_postfix_str(f"{frames} frames", refresh=False)
                bar.update(0)

            result = scan_parallel(path, model, engine.run, engine.parts, args.fps, progress, info=info,
                                   every_frame=args.every_frame)
            bar.n = bar.total or bar.n
            bar.refresh()
    finally:
        engine.close()
    return result


def _scan_batch(files: list[Path], model, args: argparse.Namespace, engine: Engine) -> list[tuple[Path, dict | str]]:
    """Every file in turn under one bar (files done), each video's segments at once on ``engine``; a bad file
    is reported in the table, the rest go on."""
    def scan_one(path: Path) -> dict:
        info = probe_media(path)
        if is_photo(info):
            return scan_file(path, model, args.fps, info=info)
        return scan_parallel(path, model, engine.run, engine.parts, args.fps, whole=True, info=info,
                             every_frame=args.every_frame)

    results: list[tuple[Path, dict | str]] = []
    with tqdm(files, unit="file", disable=args.quiet, file=sys.stderr) as bar:
        for path in bar:
            bar.set_postfix_str(path.name, refresh=True)
            try:
                results.append((path, scan_one(path)))
            except MediaError as exc:
                results.append((path, str(exc)))
    return results


def _write_outputs(args: argparse.Namespace, timelines: list[dict], batch: bool) -> None:
    if args.json:
        data = timelines if batch else timelines[0]
        timeline.write_json(data, Path(args.json))
    if args.csv:
        timeline.write_csv(timelines if batch else timelines[0], Path(args.csv))
    if args.report:
        write_report(timelines, Path(args.report), model_dir(args.model))


def verdict_line(result: dict) -> str:
    """The last line of a scan: the overall verdict and the worst score, against the threshold used."""
    summary = timeline.summary(result)
    if not summary["tracks"]:
        return f"verdict: no faces ({result['source']})"
    model = result["model"]
    threshold = model.get("still_threshold", model["threshold"])
    return f"verdict: {summary['verdict']}  score {_num(summary['max_score']).strip()} (threshold {threshold:.3f})"


def single_table(result: dict) -> str:
    tracks = result["tracks"]
    if not tracks:
        return f"{result['source']}: no faces found in {len(result['frames'])} frames"
    if result["video"].get("still"):
        faces = result["frames"][0]["faces"]
        header = f"{'face':>4}  {'box (x0 y0 x1 y1)':<22}  {'score':>6}  verdict"
        rows = [f"{f['track_id']:>4}  {' '.join(f'{v:.0f}' for v in f['box']):<22}  {_num(f['score'])}  {f['verdict']}"
                f"{' (' + f['reason'] + ')' if f.get('reason') else ''}" for f in faces]
    else:
        header = f"{'track':>5}  {'first s':>8}  {'last s':>8}  {'frames':>6}  {'mean':>6}  {'max':>6}  verdict"
        rows = [f"{t['track_id']:>5}  {t['first_pts']:>8.2f}  {t['last_pts']:>8.2f}  {t['frames']:>6}  "
                f"{_num(t['mean_score'])}  {_num(t['max_score'])}  {t['verdict']}{_refused(t)}" for t in tracks]
    return "\n".join([header, *rows, verdict_line(result)])


def batch_table(results: list[tuple[Path, dict | str]]) -> str:
    """One row per face of every file (a file without faces, or that failed, gets one row)."""
    width = max(12, *(len(p.name) for p, _ in results))
    rows = [f"{'file':<{width}}  {'face':>4}  {'seen s':>13}  {'frames':>6}  {'mean':>6}  {'max':>6}  verdict"]
    for path, result in results:
        if isinstance(result, str):
            rows.append(f"{path.name:<{width}}  {'-':>4}  {'':>13}  {'':>6}  {'':>6}  {'':>6}  error: "
                        f"{result.replace(str(path), path.name)}")
            continue
        if not result["tracks"]:
            rows.append(f"{path.name:<{width}}  {'-':>4}  {'':>13}  {len(result['frames']):>6}  {'':>6}  {'':>6}  "
                        "no faces")
        for t in result["tracks"]:
            seen = "photo" if result["video"].get("still") else f"{t['first_pts']:.1f}-{t['last_pts']:.1f}"
            rows.append(f"{path.name:<{width}}  {t['track_id']:>4}  {seen:>13}  {t['frames']:>6}  "
                        f"{_num(t['mean_score'])}  {_num(t['max_score'])}  {t['verdict']}{_refused(t)}")
    done = [r for _, r in results if isinstance(r, dict)]
    verdicts = [timeline.summary(r)["verdict"] for r in done]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("fake", "uncertain", "real", "no faces") if v in verdicts)
    failed = len(results) - len(done)
    rows.append(f"{len(results)} files: {counts}{f', {failed} failed' if failed else ''}")
    return "\n".join(rows)


def _num(x: float | None) -> str:
    return f"{x:>6.3f}" if x is not None else f"{'-':>6}"


def _refused(track: dict) -> str:
    """Frames the face-quality gate refused, and its most frequent reason."""
    n = track.get("not_scored", 0)
    return f" ({n} frames not scored: {track['reason']})" if n else ""
