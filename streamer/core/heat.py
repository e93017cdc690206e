"""The manipulation heatmap in a timeline: a face's H x H grid as hex digits, and its overlay on a picture.

The grid covers the aligned crop square (``faces/align.py``), row-major, top-left first; each cell is one hex
digit, round(p * 15). Without keypoints the square is approximated by the axis-aligned square of side
``(1 + 2 * margin) * max(box w, box h)`` at the box centre, as the replay page draws it.
"""
from __future__ import annotations

import cv2
import numpy as np

LEVELS = 15


def encode(grid: np.ndarray) -> str:
    """(H, H) probabilities in 0..1 -> H*H hex digits."""
    cells = np.rint(np.clip(np.asarray(grid, np.float64), 0.0, 1.0) * LEVELS).astype(int).reshape(-1)
    return "".join("0123456789abcdef"[c] for c in cells)


def decode(text: str) -> np.ndarray:
    """H*H hex digits -> (H, H) float32 in 0..1."""
    size = int(round(len(text) ** 0.5))
    if size * size != len(text) or not size:
        raise ValueError(f"a heatmap needs a square number of cells, not {len(text)}")
    return (np.array([int(c, 16) for c in text], np.float32) / LEVELS).reshape(size, size)


def square(box: list[float], margin: float) -> tuple[float, float, float]:
    """Centre x, centre y and side of the crop square of a face box (no keypoints)."""
    x0, y0, x1, y1 = box
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)


def cut(image: np.ndarray, box: list[float], margin: float, size: int = 128) -> np.ndarray:
    """The face's crop square from an RGB picture, ``size`` x ``size`` (borders replicated)."""
    cx, cy, side = square(box, margin)
    scale = size / side
    m = np.array([[scale, 0.0, size / 2.0 - cx * scale], [0.0, scale, size / 2.0 - cy * scale]])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def colours(grid: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB colours (yellow to red as heat rises) and opacity (0..0.65) of a grid scaled to ``size``."""
    p = cv2.resize(np.asarray(grid, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    rgb = np.stack([np.full_like(p, 255.0), 220.0 * (1.0 - p), np.full_like(p, 40.0)], axis=-1)
    return rgb, (0.65 * p)[..., None]


def overlay(crop: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """An RGB crop with the heat drawn over it, semi-transparent: cool cells stay clear."""
    rgb, alpha = colours(grid, crop.shape[0])
    return np.clip(crop.astype(np.float32) * (1.0 - alpha) + rgb * alpha, 0, 255).astype(np.uint8)


def overlay_jpeg(image: np.ndarray, box: list[float], margin: float, text: str, quality: int = 85) -> bytes:
    """JPEG of a face's crop square from an RGB picture with its heat (hex digits) drawn over it."""
    shown = overlay(cut(image, box, margin), decode(text))
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else b""
