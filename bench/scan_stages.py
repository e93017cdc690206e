"""Where a scan's CPU goes: CPU ms a frame of each stage of the scan pipeline, and the budget of the 0.5 goal.

    python bench/scan_stages.py [--model DIR] [--clip NAME_OR_PATH] [--precision float|int8] [--every-frame]

One process decodes and analyses the file in order with the scan sampling (no prefetch thread, so the
process's CPU time around each call is that stage's), and prints each stage's CPU ms a frame. The goal of
``bench/scan_speed.py`` (pipeline fps >= 0.5 x decode-only fps, on N cores for the pipeline and one for
decoding alone) allows 2 N x the decode cost a frame in all; the figure beside it says how far off the
pipeline is.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compose import long_file  # noqa: E402

from streamer.core import analyzer as analysis  # noqa: E402
from streamer.core import motion  # noqa: E402
from streamer.core.analyzer import EVERY_FRAME, SCAN, Analyzer  # noqa: E402
from streamer.core.inference import default_threads  # noqa: E402
from streamer.core.model import FLOAT, INT8, Model  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.media.video import file_frames  # noqa: E402
from streamer.runtime.assets import ASSETS, asset_path  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402

CPU: defaultdict[str, float] = defaultdict(float)


def timed(owner: object, name: str, stage: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its process CPU time to ``stage``."""
    call: Callable = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            CPU[stage] += time.process_time() - start

    setattr(owner, name, wrapper)


def instrument(a: Analyzer, model: Model) -> None:
    timed(a.detector, "detect", "face detection")
    timed(a.follower, "_follow", "optical flow (faces followed)")
    timed(motion, "_grey", "grey frame for the flow")
    timed(model, "encode", "encoder (ONNX Runtime)")
    timed(model, "temporal", "temporal head")
    timed(analysis, "assess", "quality gate")
    timed(a, "_crop", "aligned crop")
    timed(a.tracker, "update", "tracker")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--clip", help="asset name or path (default: the composed 2-minute file)")
    ap.add_argument("--precision", choices=(FLOAT, INT8), default=FLOAT)
    ap.add_argument("--every-frame", action="store_true", help="detection and the encoder on every frame")
    args = ap.parse_args()
    filter_native_logs()
    path = long_file() if not args.clip else asset_path(args.clip) if args.clip in ASSETS else Path(args.clip)
    model = Model(model_dir(args.model), precision=args.precision)
    sampling = EVERY_FRAME if args.every_frame else SCAN
    a = Analyzer(model, sampling=sampling)
    instrument(a, model)
    frames, n, start = file_frames(path), 0, time.process_time()
    try:
        while True:
            t = time.process_time()
            frame = next(frames, None)
            CPU["decode (and RGB)"] += time.process_time() - t
            if frame is None:
                break
            a.process(frame)
            n += 1
    finally:
        a.close()
    total = (time.process_time() - start) * 1000 / n
    print(f"{path.name}: {n} frames, model {model.dir.name} ({model.precision}), sampling {sampling}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for stage, seconds in sorted(CPU.items(), key=lambda kv: -kv[1]):
        ms = seconds * 1000 / n
        print(f"  {stage:32s} {ms:6.3f} ms a frame  {ms / total:6.1%}")
    rest = total - sum(CPU.values()) * 1000 / n
    print(f"  {'the rest (tracks, scores, results)':32s} {rest:6.3f} ms a frame  {rest / total:6.1%}")
    decode = CPU["decode (and RGB)"] * 1000 / n
    cores = default_threads()
    budget = 2 * cores * decode
    print(f"in all {total:.2f} ms CPU a frame. pipeline/decode-only >= 0.5 on {cores} cores allows {budget:.2f} ms "
          f"(2 x {cores} x the decode's {decode:.2f} ms): this is {total / budget:.2f}x that budget")


if __name__ == "__main__":
    main()
