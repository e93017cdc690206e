"""MediaPipe Tasks face detection: boxes, six keypoints and a score per face."""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.tasks.python import BaseOptions, vision  # noqa: E402

from ..assets import DETECTOR_MODEL, asset_path  # noqa: E402


@dataclass
class Face:
    box: np.ndarray  # (x0, y0, x1, y1) pixels
    keypoints: np.ndarray  # (6, 2) pixels: right eye, left eye, nose, mouth, right ear, left ear
    score: float


class FaceDetector:
    """A MediaPipe face detector for one stream of frames (timestamps must increase)."""

    def __init__(self, model_path: Path | None = None, min_confidence: float = 0.7, max_faces: int = 8):
        path = model_path or asset_path(DETECTOR_MODEL)
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            min_detection_confidence=min_confidence,
        )
        with quiet_stderr():
            self._det = vision.FaceDetector.create_from_options(options)
        self._max_faces = max_faces
        self._last_ms = -1
        self._warm = False

    def detect(self, rgb: np.ndarray, pts: float) -> list[Face]:
        ms = max(int(pts * 1000), self._last_ms + 1)
        self._last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._detect(image, ms)
        h, w = rgb.shape[:2]
        faces = [_to_face(d, w, h) for d in result.detections]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces[: self._max_faces]

    def _detect(self, image: mp.Image, ms: int):
        if self._warm:
            return self._det.detect_for_video(image, ms)
        with quiet_stderr():  # MediaPipe logs its delegate set-up on the first call
            result = self._det.detect_for_video(image, ms)
        self._warm = True
        return result

    def close(self) -> None:
        with quiet_stderr():
            self._det.close()

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_fd = -1


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence native libraries' logging on file descriptor 2 for a moment.

    Reference-counted, so overlapping uses on several threads restore the real stderr only once the
    last one ends.
    """
    global _quiet_depth, _saved_fd
    with _quiet_lock:
        if _quiet_depth == 0:
            _saved_fd = os.dup(2)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)


def _to_face(det, w: int, h: int) -> Face:
    bb = det.bounding_box
    box = np.array([bb.origin_x, bb.origin_y, bb.origin_x + bb.width, bb.origin_y + bb.height], dtype=np.float32)
    box[[0, 2]] = box[[0, 2]].clip(0, w)
    box[[1, 3]] = box[[1, 3]].clip(0, h)
    kps = np.array([[k.x * w, k.y * h] for k in det.keypoints], dtype=np.float32)
    return Face(box=box, keypoints=kps, score=float(det.categories[0].score))
