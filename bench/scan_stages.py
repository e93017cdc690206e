"""Where a scan's CPU goes: CPU ms a frame of each stage of the scan pipeline, and the budget of the 0.5 goal.

    python bench/scan_stages.py [--model DIR] [--clip NAME_OR_PATH] [--precision float|int8] [--every-frame]

One process decodes (on one thread, as a segment worker does) and analyses the file in order with the scan
sampling, with no other thread at work, so the process's CPU time around each call is that stage's; it prints
each stage's CPU ms a frame. The goal of ``bench/scan_speed.py`` (pipeline fps >= 0.5 x decode-only fps, each
using every core: decoding by FFmpeg's threads, the pipeline by segment workers) allows twice the decode's CPU
a frame in all; the last line says how far off the pipeline is, with and without the encoder.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
import cv2  # noqa: E402
from compose import long_file  # noqa: E402

from streamer.core import analyzer as analysis  # noqa: E402
from streamer.core.analyzer import EVERY_FRAME, SCAN, Analyzer  # noqa: E402
from streamer.core.model import FLOAT, INT8, Model  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.media import video  # noqa: E402
from streamer.media.video import Frame, frame_time, open_container, single_threaded  # noqa: E402
from streamer.runtime.assets import ASSETS, asset_path  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.runtime.opencv import one_opencv_thread  # noqa: E402

CPU: defaultdict[str, float] = defaultdict(float)  # seconds by stage
ENCODER, DECODE = "encoder (ONNX Runtime)", "decode (one thread)"


def cpu_ms(stage: str, frames: int) -> float:
    return CPU[stage] * 1000 / frames


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


def frames_one_thread(path: Path) -> Iterator[tuple[av.VideoFrame, Frame]]:
    with open_container(str(path)) as container:
        stream = container.streams.video[0]
        single_threaded(stream)
        rate = float(stream.average_rate or 30)
        for index, frame in enumerate(container.decode(stream)):
            yield frame, Frame.decoded(frame, frame_time(frame, index / rate), index)


def instrument(a: Analyzer, model: Model) -> None:
    timed(a.detector, "detect", "face detection")
    timed(a.follower, "_follow", "optical flow (faces followed)")
    timed(video.Frame, "grey", "grey frame for the flow")
    timed(video, "rgb", "RGB (frames whose pixels are read)")
    timed(model, "encode", ENCODER)
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
    ap.add_argument("--opencv-default-threads", action="store_true",
                    help="leave OpenCV's own thread pool on (deepfake-streamer runs it on one thread)")
    args = ap.parse_args()
    filter_native_logs()
    if not args.opencv_default_threads:
        one_opencv_thread()  # as `deepfake-streamer` runs
    path = long_file() if not args.clip else asset_path(args.clip) if args.clip in ASSETS else Path(args.clip)
    model = Model(model_dir(args.model), precision=args.precision)
    sampling = EVERY_FRAME if args.every_frame else SCAN
    a = Analyzer(model, sampling=sampling)
    every_frames_rgb = video.rgb  # before it is timed as a stage
    instrument(a, model)
    frames, n, start, every_rgb = frames_one_thread(path), 0, time.process_time(), 0.0
    try:
        while True:
            t = time.process_time()
            decoded, frame = next(frames, (None, None))
            CPU[DECODE] += time.process_time() - t
            if frame is None:
                break
            t = time.process_time()
            every_frames_rgb(decoded)  # what decode-only also spends: every frame's RGB (not part of the scan)
            every_rgb += time.process_time() - t
            a.process(frame)
            n += 1
    finally:
        a.close()
    total = (time.process_time() - start - every_rgb) * 1000 / n
    print(f"{path.name}: {n} frames, model {model.dir.name} ({model.precision}), sampling {sampling}, "
          f"{cv2.getNumThreads()} OpenCV thread(s); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for stage, seconds in sorted(CPU.items(), key=lambda kv: -kv[1]):
        ms = seconds * 1000 / n
        print(f"  {stage:32s} {ms:6.3f} ms a frame  {ms / total:6.1%}")
    rest = total - sum(CPU.values()) * 1000 / n
    print(f"  {'the rest (tracks, scores, results)':32s} {rest:6.3f} ms a frame  {rest / total:6.1%}")
    decode = cpu_ms(DECODE, n) + every_rgb * 1000 / n
    budget = 2 * decode
    encoder = cpu_ms(ENCODER, n)
    print(f"in all {total:.2f} ms CPU a frame. Half of decode-only speed on the same cores allows twice decode-only's "
          f"{decode:.2f} ms (decoding and every frame's RGB), {budget:.2f} ms a frame: this is {total / budget:.2f}x "
          f"that, {(total - encoder) / budget:.2f}x without the encoder")


if __name__ == "__main__":
    main()
