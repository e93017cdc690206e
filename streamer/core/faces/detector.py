"""MediaPipe Tasks face detection: boxes, six keypoints and a score per face; short, full range or auto."""
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

from ...runtime.assets import DETECTOR_MODEL, FULL_RANGE_DETECTOR_MODEL, asset_path  # noqa: E402
from .tiles import merge, tile_grid  # noqa: E402

SHORT, FULL, AUTO = "short", "full", "auto"
MODES = (SHORT, FULL, AUTO)
WIDE_SIDE = 960  # video frames at least this wide count as wide scenes: ``auto`` uses the full-range model
_default_mode: str | None = None  # unset: auto for stills, short for video (what the model was trained on)


class DetectorError(ValueError):
    """An unknown detector choice; the message is meant for the user."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise DetectorError(f"unknown detector {mode!r}: choose one of {', '.join(MODES)}")
    return mode


def set_default_mode(mode: str) -> None:
    """The detector every ``FaceDetector()`` of this process uses unless told otherwise (``--detector``)."""
    global _default_mode
    _default_mode = check_mode(mode)


def configured_mode() -> str | None:
    """What ``set_default_mode`` set in this process, to hand to worker processes and cluster nodes."""
    return _default_mode


def default_mode(still: bool = False) -> str:
    return _default_mode or (AUTO if still else SHORT)


@dataclass
class Face:
    box: np.ndarray  # (x0, y0, x1, y1) pixels
    keypoints: np.ndarray  # (6, 2) pixels: right eye, left eye, nose, mouth, right ear, left ear
    score: float


class _Tasks:
    """One MediaPipe Tasks face detector model, in video mode (increasing timestamps) or image mode."""

    def __init__(self, path: Path, min_confidence: float, still: bool):
        mode = vision.RunningMode.IMAGE if still else vision.RunningMode.VIDEO
        options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(path)),
                                             running_mode=mode, min_detection_confidence=min_confidence)
        with quiet_stderr():
            self._det = vision.FaceDetector.create_from_options(options)
        self._still = still
        self._last_ms = -1
        self._warm = False

    def detect(self, rgb: np.ndarray, pts: float, dx: int = 0, dy: int = 0) -> list[Face]:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with quiet_stderr() if not self._warm else contextlib.nullcontext():  # delegate set-up logs on the first call
            result = self._det.detect(image) if self._still else self._det.detect_for_video(image, self._ms(pts))
        self._warm = True
        h, w = rgb.shape[:2]
        return [_to_face(d, w, h, dx, dy) for d in result.detections]

    def _ms(self, pts: float) -> int:
        self._last_ms = max(int(pts * 1000), self._last_ms + 1)
        return self._last_ms

    def close(self) -> None:
        with quiet_stderr():
            self._det.close()


class FaceDetector:
    """Faces of one stream of frames (timestamps must increase), or of stills (``still=True``).

    ``mode``: ``short`` (the short-range model on the whole frame: faces near the camera), ``full``
    (the full-range model: faces up to a few metres away) or ``auto`` (stills: both models on the
    whole image plus the short-range model on overlapping tiles, merged; video: both models on wide
    frames, the short-range one alone otherwise). Default: the process default (``--detector``), else auto
    for stills and short for video.
    """

    def __init__(self, model_path: Path | None = None, min_confidence: float = 0.7, max_faces: int = 8,
                 mode: str | None = None, still: bool = False):
        self.mode = check_mode(mode or default_mode(still))
        self.still = still
        self._max_faces = max_faces
        self._confidence = min_confidence
        self._short_path = model_path
        self._models: dict[str, _Tasks] = {}
        self._model(FULL if self.mode == FULL else SHORT)  # a missing asset shows now, not at the first frame

    def _model(self, kind: str) -> _Tasks:
        if kind not in self._models:
            path = self._short_path if kind == SHORT and self._short_path else \
                asset_path(DETECTOR_MODEL if kind == SHORT else FULL_RANGE_DETECTOR_MODEL)
            self._models[kind] = _Tasks(path, self._confidence, self.still)
        return self._models[kind]

    def detect(self, rgb: np.ndarray, pts: float) -> list[Face]:
        faces = self._detect(rgb, pts)
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces[: self._max_faces]

    def _detect(self, rgb: np.ndarray, pts: float) -> list[Face]:
        if self.mode != AUTO:
            return self._model(self.mode).detect(rgb, pts)
        short = self._model(SHORT)
        if not self.still and max(rgb.shape[:2]) < WIDE_SIDE:
            return short.detect(rgb, pts)
        tiles = [] if not self.still else [
            face for y, x, h, w in tile_grid(*rgb.shape[:2]) for face in short.detect(rgb[y:y + h, x:x + w], pts, x, y)]
        return merge(short.detect(rgb, pts), tiles, self._model(FULL).detect(rgb, pts))

    def close(self) -> None:
        for model in self._models.values():
            model.close()
        self._models.clear()

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


def _to_face(det, w: int, h: int, dx: int = 0, dy: int = 0) -> Face:
    """A Tasks detection in a (w, h) image placed at (dx, dy) of the frame, in frame pixels."""
    bb = det.bounding_box
    box = np.array([bb.origin_x, bb.origin_y, bb.origin_x + bb.width, bb.origin_y + bb.height], dtype=np.float32)
    box[[0, 2]] = box[[0, 2]].clip(0, w) + dx
    box[[1, 3]] = box[[1, 3]].clip(0, h) + dy
    kps = np.array([[k.x * w + dx, k.y * h + dy] for k in det.keypoints], dtype=np.float32)
    return Face(box=box, keypoints=kps, score=float(det.categories[0].score))
