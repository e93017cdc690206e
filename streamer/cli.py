"""Command line: `deepfake-streamer scan VIDEO`, `monitor URL...` and `fetch-assets`."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PACKAGED_MODEL_DIR = Path(__file__).resolve().parent / "default_model"  # in an installed wheel
DEFAULT_MODEL_DIR = PACKAGED_MODEL_DIR if (PACKAGED_MODEL_DIR / "manifest.json").is_file() \
    else Path(__file__).resolve().parent.parent / "models" / "default"  # in a checkout
LONG_RUNNING = frozenset({"serve", "monitor"})  # commands that pin the heap's mmap threshold before anything loads


def model_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("DFS_MODEL_DIR") or DEFAULT_MODEL_DIR)


def load_model(arg: str | None, arena: bool = True):
    from .model import Model, ModelError

    path = model_dir(arg)
    if not (path / "manifest.json").is_file():
        raise ModelError(
            f"no model at {path}: pass --model DIR (or set DFS_MODEL_DIR) to a directory with manifest.json, "
            "encoder.onnx and temporal.onnx; train one with `python -m export.train` and "
            "`python -m export.onnx` (see models/README.md)")
    return Model(path, arena=arena)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from . import __version__

    try:
        return installed("deepfake-streamer")
    except PackageNotFoundError:
        return __version__


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-streamer", description="Real-time deepfake analysis of faces in video.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="analyse a video file faster than real time")
    scan.add_argument("video", help="video file to analyse")
    scan.add_argument("--json", metavar="OUT", help="write the whole timeline as JSON")
    scan.add_argument("--csv", metavar="OUT", help="write one row per face per frame as CSV")
    scan.add_argument("--fps", type=_positive, help="analyse at most N frames per second (default: every frame)")
    scan.add_argument("--model", metavar="DIR", help="model directory (default: $DFS_MODEL_DIR or models/default)")
    scan.add_argument("--quiet", action="store_true", help="no progress bar")
    scan.set_defaults(func=run_scan)
    serve = sub.add_parser("serve", help="serve the live webcam page (WebRTC) on http://localhost:8080/")
    from .server.config import add_arguments

    add_arguments(serve)
    serve.set_defaults(func=run_serve)
    from .monitor.cli import add_parser as add_monitor

    add_monitor(sub, _positive)
    fetch = sub.add_parser("fetch-assets", help="download the pinned third-party assets into the cache")
    fetch.set_defaults(func=lambda _args: __import__("streamer.assets", fromlist=["main"]).main())
    return parser


def check_output_path(path: Path) -> None:
    """Before the scan starts: an output path that cannot be written fails now, not after minutes of work."""
    from .sources import MediaError

    if path.is_dir():
        raise MediaError(f"{path}: is a folder; give a file name to write")
    if not path.parent.is_dir():
        raise MediaError(f"{path}: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MediaError(f"{path}: cannot be written (permission denied)")


# tqdm puts ", " before a non-empty postfix itself
BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}{postfix}]"


def progress_bar(name: str, total: float | None, quiet: bool, file=None):
    from tqdm import tqdm

    return tqdm(total=total, unit="s", desc=name, disable=quiet, file=file or sys.stderr, bar_format=BAR_FORMAT)


def run_scan(args: argparse.Namespace) -> int:
    from . import timeline
    from .scan import scan_file
    from .sources import probe

    path = Path(args.video)
    for out in (args.json, args.csv):
        if out:
            check_output_path(Path(out))
    info = probe(path)
    model = load_model(args.model)
    total = round(info.duration, 2) if info.duration else None
    with progress_bar(path.name, total, args.quiet) as bar:
        def progress(pts: float, frames: int) -> None:
            bar.n = min(pts, total) if total else pts
            bar.set_postfix_str(f"{frames} frames", refresh=False)
            bar.update(0)

        result = scan_file(path, model, args.fps, progress)
        bar.n = bar.total or bar.n
        bar.refresh()
    print(summary_table(result))
    if args.json:
        timeline.write_json(result, Path(args.json))
    if args.csv:
        timeline.write_csv(result, Path(args.csv))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from .server import serve
    from .server.config import from_args

    cfg = from_args(args)
    serve(cfg, load_model(cfg.model_dir))
    return 0


def summary_table(result: dict) -> str:
    tracks = result["tracks"]
    if not tracks:
        return f"{result['source']}: no faces found in {len(result['frames'])} frames"
    model = result.get("model") or {}
    threshold = model.get("threshold")
    footer = (f"threshold {threshold:.3f} (model {model.get('name', '?')} v{model.get('version', '?')}): a track is "
              "fake when its mean score is at or above it, real below, uncertain close to it"
              if threshold is not None else None)
    header = f"{'track':>5}  {'first s':>8}  {'last s':>8}  {'frames':>6}  {'mean':>6}  {'max':>6}  verdict"
    rows = [f"{t['track_id']:>5}  {t['first_pts']:>8.2f}  {t['last_pts']:>8.2f}  {t['frames']:>6}  "
            f"{t['mean_score']:>6.3f}  {t['max_score']:>6.3f}  {t['verdict']}" for t in tracks]
    return "\n".join([header, *rows, *([footer] if footer else [])])


def main(argv: list[str] | None = None) -> int:
    from .assets import AssetError
    from .model import ModelError
    from .native_logs import filter_native_logs
    from .server.config import ConfigError
    from .sources import MediaError

    args = build_parser().parse_args(argv)
    if args.command in LONG_RUNNING:
        from .memory import pin_mmap_threshold

        pin_mmap_threshold()  # before the model and detectors load, so their freed buffers leave no holes
    filter_native_logs()
    try:
        return int(args.func(args) or 0)
    except (MediaError, ModelError, AssetError, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
