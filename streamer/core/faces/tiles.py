"""Small faces in big stills: overlapping tiles, and merging the detections of several passes."""
from __future__ import annotations

import numpy as np

TILE_FRACTION = 0.5  # a tile's side, as a fraction of the image's larger side
TILE_OVERLAP = 0.34  # of a tile's side, shared with its neighbour
MIN_TILE = 192  # below this the whole image is already fine for the detector
MERGE_IOU = 0.3


def tile_grid(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(y, x, h, w) of overlapping square-ish tiles covering the image; empty when none are needed."""
    side = int(max(height, width) * TILE_FRACTION)
    if side < MIN_TILE:
        return []
    th, tw = min(side, height), min(side, width)
    step = side * (1 - TILE_OVERLAP)
    ys = _starts(height, th, step)
    xs = _starts(width, tw, step)
    return [(y, x, th, tw) for y in ys for x in xs]


def _starts(total: int, size: int, step: float) -> list[int]:
    count = int(np.ceil(max(total - size, 0) / step)) + 1
    return sorted({int(round(v)) for v in np.linspace(0, total - size, count)})


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def overlap_of_smaller(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over the smaller box: a face cut by a tile edge lies inside the whole face's box."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(inter / smaller) if smaller > 0 else 0.0


def merge(*passes: list, threshold: float = MERGE_IOU) -> list:
    """Greedy non-maximum suppression over the faces of several passes.

    Earlier passes win over later ones, then the best score: the deepfake model was trained on crops
    cut from the short-range detector's boxes, so that detector's box is kept when both find a face.
    """
    kept: list = []
    ordered = [f for faces in passes for f in sorted(faces, key=lambda f: f.score, reverse=True)]
    for face in ordered:
        if all(iou(face.box, k.box) < threshold and overlap_of_smaller(face.box, k.box) < 0.7 for k in kept):
            kept.append(face)
    return kept
