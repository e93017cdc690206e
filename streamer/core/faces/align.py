"""The one crop rule shared by the runtime and the training code.

A face is cut as a square centred between the eyes and the mouth, rotated so the eye line is
horizontal, with a side of ``(1 + 2 * margin)`` times the detector's box size, resized to ``size``.
"""
from __future__ import annotations

import cv2
import numpy as np

RIGHT_EYE, LEFT_EYE, NOSE, MOUTH = 0, 1, 2, 3  # BlazeFace keypoint order (subject's right eye first)
DEFAULT_MARGIN = 0.25


def crop_transform(keypoints: np.ndarray, box: np.ndarray, size: int, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """2x3 affine matrix mapping image pixels to crop pixels.

    ``keypoints``: (6, 2) pixel coordinates; ``box``: (x0, y0, x1, y1) pixels.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    eye_r, eye_l = kp[RIGHT_EYE], kp[LEFT_EYE]
    dx, dy = eye_l - eye_r
    angle = np.degrees(np.arctan2(dy, dx))
    eyes_mid = (eye_r + eye_l) / 2.0
    centre = (eyes_mid + kp[MOUTH]) / 2.0
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64)
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)
    scale = size / side
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), float(scale))
    m[0, 2] += size / 2.0 - centre[0]
    m[1, 2] += size / 2.0 - centre[1]
    return m


def align_crop(image: np.ndarray, keypoints: np.ndarray, box: np.ndarray, size: int,
               margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """Aligned ``size``x``size`` crop of a face from an RGB image (borders replicated)."""
    m = crop_transform(keypoints, box, size, margin)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
