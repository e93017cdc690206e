"""Command line: `deepfake-streamer scan VIDEO`, `monitor URL...`, `calibrate FOOTAGE...` and `fetch-assets`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model_dir import DEFAULT_MODEL_DIR, load_model  # noqa: F401  (DEFAULT_MODEL_DIR: for benches)

LONG_RUNNING = frozenset({"serve", "monitor"})  # commands that pin the heap's mmap threshold before anything loads


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-streamer", description="Real-time deepfake analysis of faces in video.")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="analyse video files faster than real time")
    scan.add_argument("video", nargs="+", help="video files, or directories (their video files, recursively)")
    scan.add_argument("--json", metavar="OUT", help="write the whole timeline as JSON (several files: a directory)")
    scan.add_argument("--csv", metavar="OUT", help="write one row per face per frame as CSV (several files: a directory)")
    scan.add_argument("--fps", type=_positive, help="analyse at most N frames per second (default: every frame)")
    scan.add_argument("--model", metavar="DIR", help="model directory (default: $DFS_MODEL_DIR or models/default)")
    scan.add_argument("--quiet", action="store_true", help="no progress bar")
    scan.add_argument("--workers", type=_count, metavar="N",
                      help="worker processes: a long file is split at keyframes and its segments scanned at once "
                           "(default: one per CPU core; 1: all in this process)")
    scan.add_argument("--ray", metavar="ADDRESS",
                      help="scan on a Ray cluster: 'auto' (the cluster `ray start` made on this machine) or the "
                           "head's HOST:PORT; needs the cluster extra: pip install 'deepfake-streamer[cluster]'")
    scan.set_defaults(func=run_scan)
    serve = sub.add_parser("serve", help="serve the live webcam page (WebRTC) on http://localhost:8080/")
    from .server.config import add_arguments

    add_arguments(serve)
    serve.set_defaults(func=run_serve)
    from .monitor.cli import add_parser as add_monitor

    add_monitor(sub, _positive)
    add_calibrate(sub)
    fetch = sub.add_parser("fetch-assets", help="download the pinned third-party assets into the cache")
    fetch.set_defaults(func=lambda _args: __import__("streamer.assets", fromlist=["main"]).main())
    return parser


def run_scan(args: argparse.Namespace) -> int:
    from .segments.command import run

    return run(args, load_model(args.model), summary_table)


def add_calibrate(sub) -> None:
    cal = sub.add_parser("calibrate", help="set the threshold on a site's own real footage; writes a model dir")
    cal.add_argument("footage", nargs="+", type=Path, help="real videos, or folders of them (searched recursively)")
    cal.add_argument("--target-fpr", type=float, default=0.01, help="share of real windows allowed above the threshold")
    cal.add_argument("--out", type=Path, required=True, help="model directory to write (ONNX files copied)")
    cal.add_argument("--model", metavar="DIR", help="base model directory (default: $DFS_MODEL_DIR or models/default)")
    cal.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from .calibration import CalibrationError, calibrate

    try:
        result = calibrate(load_model(args.model), args.footage, args.target_fpr, args.out,
                           log=lambda msg: print(msg, file=sys.stderr))
    except CalibrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lo, hi = result["held_out_fpr_ci95"]
    print(f"threshold {result['threshold']:.4f} (was {result['base_model']['threshold']:.4f}) from "
          f"{result['windows']} windows, {result['faces']} faces, {result['frames']} frames of {len(result['files'])} "
          f"file(s); false-positive rate {result['measured_fpr']:.3f} here, {lo:.3f}-{hi:.3f} expected on new "
          f"footage of this setup (95 %); wrote {args.out}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from .server import serve
    from .server.config import from_args

    cfg = from_args(args)
    if cfg.ray:
        from .cluster.compat import ray

        ray()  # without the cluster extra: say how to install it, before anything starts
    serve(cfg, load_model(cfg.model_dir))
    return 0


def summary_table(result: dict) -> str:
    tracks = result["tracks"]
    if not tracks:
        return f"{result['source']}: no faces found in {len(result['frames'])} frames"
    header = f"{'track':>5}  {'first s':>8}  {'last s':>8}  {'frames':>6}  {'mean':>6}  {'max':>6}  verdict"
    rows = [f"{t['track_id']:>5}  {t['first_pts']:>8.2f}  {t['last_pts']:>8.2f}  {t['frames']:>6}  "
            f"{_num(t['mean_score'])}  {_num(t['max_score'])}  {t['verdict']}{_refused(t)}" for t in tracks]
    return "\n".join([header, *rows])


def _num(x: float | None) -> str:
    return f"{x:>6.3f}" if x is not None else f"{'-':>6}"


def _refused(track: dict) -> str:
    """Frames the face-quality gate refused, and its most frequent reason."""
    n = track.get("not_scored", 0)
    return f" ({n} frames not scored: {track['reason']})" if n else ""


def main(argv: list[str] | None = None) -> int:
    from .assets import AssetError
    from .cluster import ClusterError
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
    except (MediaError, ModelError, AssetError, ConfigError, ClusterError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
