"""Command line: `deepfake-streamer scan FILE...`, `serve`, `monitor URL...`, `calibrate FOOTAGE...` and
`fetch-assets`."""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed
from pathlib import Path

from .. import __version__
from ..cluster import ClusterError
from ..cluster.compat import ray
from ..core.faces.detector import DetectorError, set_default_mode
from ..core.model import ModelError
from ..core.model_dir import DEFAULT_MODEL_DIR, load_model  # noqa: F401  (DEFAULT_MODEL_DIR: for benches)
from ..files.calibration import CalibrationError, calibrate
from ..live.pipeline import set_live_every_frame
from ..media.video import MediaError
from ..runtime import assets, memory
from ..runtime.assets import AssetError
from ..runtime.logs import filter_native_logs
from ..runtime.opencv import one_opencv_thread
from ..server.config import ConfigError, add_arguments, from_args
from .monitor import add_parser as add_monitor
from .scan import add_arguments as add_scan_arguments
from .scan import run_scan as scan
from .scan import video_bar

LONG_RUNNING = frozenset({"serve", "monitor"})  # commands that pin the heap's mmap threshold before anything loads


def version() -> str:
    try:
        return installed("deepfake-streamer")
    except PackageNotFoundError:
        return __version__


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def add_detector_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--detector", choices=("short", "full", "auto"), default=os.environ.get("DFS_DETECTOR") or "auto",
                        help="face detector: short (faces near the camera), full (full range: faces up to a few metres) "
                             "or auto (stills: both models plus tiles, for group photos; video: both models on frames "
                             "960 px or wider, short range otherwise). Default: $DFS_DETECTOR or auto")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake-streamer", description="Real-time deepfake analysis of faces in video.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="analyse video files faster than real time, and photos")
    add_scan_arguments(scan, _positive)
    scan.set_defaults(func=run_scan)
    serve = sub.add_parser("serve", help="serve the live webcam page (WebRTC) on http://localhost:8080/")
    add_arguments(serve)
    serve.set_defaults(func=run_serve)
    add_monitor(sub, _positive)
    add_calibrate(sub)
    for name in ("scan", "serve", "monitor"):
        add_detector_argument(sub.choices[name])
    for name in ("serve", "monitor"):
        sub.choices[name].add_argument(
            "--live-every-frame", action="store_true",
            help="detect and encode on every analysed frame of a live stream (default: detect every 6th frame, "
                 "follow faces between, encode every 2nd face and carry its scores between: less CPU per frame)")
    fetch = sub.add_parser("fetch-assets", help="download the pinned third-party assets into the cache")
    fetch.set_defaults(func=lambda _args: assets.main())
    return parser


def run_scan(args: argparse.Namespace) -> int:
    return scan(args, load_model)


def add_calibrate(sub) -> None:
    cal = sub.add_parser("calibrate", help="set the threshold on a site's own real footage; writes a model dir")
    cal.add_argument("footage", nargs="+", type=Path, help="real videos, or folders of them (searched recursively)")
    cal.add_argument("--target-fpr", type=float, default=0.01, help="share of real windows allowed above the threshold")
    cal.add_argument("--out", type=Path, required=True, help="model directory to write (ONNX files copied)")
    cal.add_argument("--model", metavar="DIR", help="base model directory (default: $DFS_MODEL_DIR or models/default)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    cal.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    try:
        result = calibrate(load_model(args.model), args.footage, args.target_fpr, args.out,
                           watch=lambda path: video_bar(path, args.quiet))  # the scan's bar, one per file
    except (CalibrationError, MediaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lo, hi = result["held_out_fpr_ci95"]
    print(f"threshold {result['threshold']:.4f} (was {result['base_model']['threshold']:.4f}) from "
          f"{result['windows']} windows, {result['faces']} faces, {result['frames']} frames of {len(result['files'])} "
          f"file(s); false-positive rate {result['measured_fpr']:.3f} here, {lo:.3f}-{hi:.3f} expected on new "
          f"footage of this setup (95 %); wrote {args.out}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from ..server import serve  # start-up cost: aiortc and the app load only for `serve`

    cfg = from_args(args)
    if cfg.ray:
        ray()  # without the cluster extra: say how to install it, before anything starts
    serve(cfg, load_model(cfg.model_dir))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in LONG_RUNNING:
        memory.pin_mmap_threshold()  # before the model and detectors load, so their freed buffers leave no holes
    filter_native_logs()
    one_opencv_thread()
    try:
        if getattr(args, "detector", None):
            set_default_mode(args.detector)
        set_live_every_frame(getattr(args, "live_every_frame", False))
        return int(args.func(args) or 0)
    except (MediaError, ModelError, AssetError, ConfigError, DetectorError, ClusterError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
