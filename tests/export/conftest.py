from __future__ import annotations

import numpy as np
import pytest


def ellipse_landmarks(cx: float, cy: float, rx: float, ry: float, n: int = 468, seed: int = 0) -> np.ndarray:
    """A stand-in for a 468-point mesh: points filling an ellipse (the hull is the ellipse)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    rim = np.c_[cx + rx * np.cos(t), cy + ry * np.sin(t)]
    r = np.sqrt(rng.uniform(0, 0.9, n - len(rim)))
    a = rng.uniform(0, 2 * np.pi, n - len(rim))
    inner = np.c_[cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)]
    return np.vstack([rim, inner]).astype(np.float32)


@pytest.fixture
def face_image() -> tuple[np.ndarray, np.ndarray]:
    """A textured 160x160 image and landmarks of a 'face' ellipse at its centre."""
    rng = np.random.default_rng(1)
    img = rng.integers(40, 220, (160, 160, 3)).astype(np.uint8)
    img = np.ascontiguousarray(np.clip(img.astype(int) // 2 + 60, 0, 255).astype(np.uint8))
    return img, ellipse_landmarks(80, 84, 34, 44)
