"""Faces found per group photo and cost per frame of each detector choice (short, full, auto).

    python bench/detector_recall.py [--runs 10]

``people`` is how many faces a person counts in each fetched photo; a found face counts once
(detections are merged). Stills use the still pipeline (``still=True``); the video rows time
the same choices on decoded frames of the fetched clips (VIDEO mode, as scans and streams do).
"""
from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from streamer.runtime.assets import asset_path
from streamer.core.faces.detector import MODES, FaceDetector
from streamer.media.video import file_frames

PEOPLE = {"multi_face.jpg": 5, "zidane.jpg": 2, "insightface_t1.jpg": 6, "breakingbad.jpg": 2,
          "BWPictureHuman.jpg": 1, "biden.jpg": 1, "astronaut.png": 1, "grace_hopper.jpg": 1, "obama.jpg": 1,
          "tom_hanks.png": 1, "45-m7-di-ph.jpg": 1, "takeo.ppm": 1, "tongue.jpg": 1, "single_face.jpg": 1}
CLIPS = ("single_face.mp4", "carphone_pristine.mp4", "WolfgangLanger_Pexels.mp4")


def load(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(asset_path(name))), cv2.COLOR_BGR2RGB)


def clip_frames(name: str, count: int) -> list[np.ndarray]:
    return [f.image for f, _ in zip(file_frames(asset_path(name)), range(count))]


def timed(det: FaceDetector, image: np.ndarray, runs: int) -> tuple[int, float]:
    found = len(det.detect(image, 0.0))
    times = []
    for i in range(runs):
        t = time.perf_counter()
        det.detect(image, (i + 1) / 30)
        times.append(time.perf_counter() - t)
    return found, statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    detectors = {m: FaceDetector(mode=m, still=True, max_faces=32) for m in MODES}
    print(f"{'photo':<20} {'size':>10} {'people':>6} " + " ".join(f"{m + ' found':>10} {m + ' ms':>8}" for m in MODES))
    totals = {m: 0 for m in MODES}
    for name, people in PEOPLE.items():
        image = load(name)
        cells = []
        for mode, det in detectors.items():
            found, ms = timed(det, image, args.runs)
            totals[mode] += min(found, people)
            cells.append(f"{found:>10} {ms:>8.1f}")
        print(f"{name:<20} {image.shape[1]:>4}x{image.shape[0]:<5} {people:>6} " + " ".join(cells))
    print(f"{'faces found (capped)':<38}" + " ".join(f"{totals[m]:>10}/{sum(PEOPLE.values()):<8}" for m in MODES))
    clips = {name: clip_frames(name, args.runs + 1) for name in CLIPS}
    clips["side by side (wide)"] = [np.concatenate(pair, axis=1) for pair in
                                    zip(clips["single_face.mp4"], clips["WolfgangLanger_Pexels.mp4"])]
    for name, frames in clips.items():
        cells = []
        for mode in MODES:
            with FaceDetector(mode=mode) as det:
                det.detect(frames[0], 0.0)
                t = time.perf_counter()
                for i, frame in enumerate(frames[1:], 1):
                    det.detect(frame, i / 30)
                cells.append(f"{mode} {(time.perf_counter() - t) * 1000 / (len(frames) - 1):.1f} ms")
        h, w = frames[0].shape[:2]
        print(f"video {name} {w}x{h}: " + ", ".join(cells))
    for det in detectors.values():
        det.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
