"""Face-quality gate: can this face be judged at all? Decided per face before it is scored.

A face that is too small, too blurred, too dark, blown out, turned too far or barely detected gets
the verdict ``not_scored`` with a ``reason`` and never counts toward a fake verdict or an alert.
The thresholds come from measurements on real frames (see the model card, *Face-quality gate*).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .faces import Face
from .faces.align import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, crop_transform

PATCH = 64  # side of the face patch the image measures are taken on (margin 0: the face itself)

TOO_SMALL, TOO_BLURRED, TOO_DARK, OVEREXPOSED, EXTREME_POSE, LOW_CONFIDENCE = (
    "too_small", "too_blurred", "too_dark", "overexposed", "extreme_pose", "low_confidence")
REASONS = (TOO_SMALL, LOW_CONFIDENCE, EXTREME_POSE, TOO_DARK, OVEREXPOSED, TOO_BLURRED)


@dataclass(frozen=True)
class QualityConfig:
    min_eye_px: float = 10.0  # pixels between the eye keypoints in the frame
    min_sharpness: float = 0.3  # Laplacian energy over contrast of the face patch (see ``sharpness``)
    min_brightness: float = 35.0  # mean grey level of the face patch
    max_brightness: float = 225.0
    max_clipped: float = 0.35  # share of face pixels at 250 or above
    max_yaw: float = 0.5  # nose offset from the eye midline, in eye distances
    min_pitch: float = 0.15  # nose height between eye line and mouth (0 = at the eyes, 1 = at the mouth)
    max_pitch: float = 0.85
    min_confidence: float = 0.75  # detector score
    enabled: bool = True


@dataclass(frozen=True)
class Quality:
    eye_px: float
    sharpness: float
    brightness: float
    clipped: float
    yaw: float
    pitch: float
    confidence: float
    reason: str | None  # None: the face can be scored

    @property
    def ok(self) -> bool:
        return self.reason is None


def face_patch(image: np.ndarray, face: Face) -> np.ndarray:
    """The face itself (margin 0), eye line horizontal, as a PATCH x PATCH grey uint8 image."""
    m = crop_transform(face.keypoints, face.box, PATCH, margin=0.0)
    patch = cv2.warpAffine(image, m, (PATCH, PATCH), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)


def sharpness(grey: np.ndarray, grey_var: float | None = None) -> float:
    """Energy of the Laplacian relative to the patch's contrast: falls as the face blurs, and does
    not depend on how bright or contrasty the face is."""
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    if grey_var is None:
        grey_var = float(cv2.meanStdDev(grey)[1][0, 0]) ** 2
    return float(cv2.meanStdDev(lap)[1][0, 0]) ** 2 / (grey_var + 25.0)


def pose(face: Face) -> tuple[float, float]:
    """(yaw, pitch) proxies from the keypoints, in the eye-line frame.

    yaw: horizontal offset of the nose from the eye midpoint, in eye distances (0 frontal);
    pitch: the nose's position between the eye line (0) and the mouth (1)."""
    (rx, ry), (lx, ly), (nx, ny), (mx, my) = face.keypoints[[RIGHT_EYE, LEFT_EYE, NOSE, MOUTH]].tolist()
    ex, ey = lx - rx, ly - ry
    dist = max(math.hypot(ex, ey), 1e-6)
    ax, ay = ex / dist, ey / dist  # the eye line; (-ay, ax) points down the face
    cx, cy = (lx + rx) / 2.0, (ly + ry) / 2.0
    nose_x, nose_y, mouth_x, mouth_y = nx - cx, ny - cy, mx - cx, my - cy
    yaw = (nose_x * ax + nose_y * ay) / dist
    pitch = (nose_x * -ay + nose_y * ax) / max(mouth_x * -ay + mouth_y * ax, 1e-6)
    return yaw, pitch


def assess(image: np.ndarray, face: Face, cfg: QualityConfig = QualityConfig()) -> Quality:
    """The face's measures and the first reason (in REASONS order) it cannot be scored, if any."""
    (rx, ry), (lx, ly) = face.keypoints[[RIGHT_EYE, LEFT_EYE]].tolist()
    grey = face_patch(image, face)
    mean, std = (float(v[0, 0]) for v in cv2.meanStdDev(grey))
    yaw, pitch = pose(face)
    q = dict(eye_px=math.hypot(lx - rx, ly - ry), sharpness=sharpness(grey, std * std), brightness=mean,
             clipped=cv2.countNonZero(cv2.compare(grey, 250, cv2.CMP_GE)) / grey.size, yaw=yaw, pitch=pitch,
             confidence=float(face.score))
    return Quality(**q, reason=_reason(q, cfg) if cfg.enabled else None)


def _reason(q: dict, cfg: QualityConfig) -> str | None:
    checks = {
        TOO_SMALL: q["eye_px"] < cfg.min_eye_px,
        LOW_CONFIDENCE: q["confidence"] < cfg.min_confidence,
        EXTREME_POSE: abs(q["yaw"]) > cfg.max_yaw or not cfg.min_pitch <= q["pitch"] <= cfg.max_pitch,
        TOO_DARK: q["brightness"] < cfg.min_brightness,
        OVEREXPOSED: q["brightness"] > cfg.max_brightness or q["clipped"] > cfg.max_clipped,
        TOO_BLURRED: q["sharpness"] < cfg.min_sharpness,
    }
    return next((r for r in REASONS if checks[r]), None)
