"""Faces carried between detections: sparse optical flow on each face's points, and when to detect again.

The face detector runs every ``every`` frames; in between, each face of the previous frame is moved by
pyramidal Lucas-Kanade flow on its six keypoints and a grid inside its box (a similarity fitted to the
points that flow back to where they started). Detection runs again at once on a scene cut (the frame's
thumbnail differs from the last one by more than ``cut``), when a face cannot be followed (too few of its
points track) and, periodically, to find new faces.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..media.video import Frame
from .faces import Face

FLOW_SIDE = 400  # frames are followed at most this wide
THUMB = (32, 18)  # scene-cut thumbnail (w, h)
_WIN, _LEVELS = (13, 13), 2
_LK = dict(winSize=_WIN, maxLevel=_LEVELS, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
_GRID = np.array([(x, y) for y in (0.3, 0.5, 0.7) for x in (0.3, 0.5, 0.7)], np.float32)


@dataclass(frozen=True)
class FollowConfig:
    every: int = 1  # detect every N frames (1: every frame, nothing is followed)
    cut: float = 30.0  # mean |difference| of grey thumbnails (0-255) that counts as a scene cut
    min_tracked: float = 0.6  # share of a face's points that must track for it to be followed
    max_error: float = 1.0  # forward-backward error (flow pixels) of a point that tracks


def _points(face: Face) -> np.ndarray:
    x0, y0, x1, y1 = face.box
    grid = _GRID * [x1 - x0, y1 - y0] + [x0, y0]
    return np.concatenate([face.keypoints, grid]).astype(np.float32)


class FaceFollower:
    """Decides, frame by frame, whether the detector runs, and otherwise carries the last faces forward."""

    def __init__(self, cfg: FollowConfig = FollowConfig()):
        self.cfg = cfg
        self._grey: np.ndarray | None = None
        self._thumb: np.ndarray | None = None
        self._scale = 1.0
        self._since = 0  # frames since the last detection
        self.detections = 0
        self.cuts = 0
        self.lost = 0

    def faces(self, frame: Frame, last: list[Face], detect: Callable[[], list[Face]]) -> tuple[list[Face], bool]:
        """This frame's faces: ``detect()`` when due, else ``last`` followed here; and whether it detected."""
        if self.cfg.every <= 1:
            return detect(), True
        grey, factor = frame.grey(FLOW_SIDE)
        scale = float(factor)
        thumb = cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        cut = self._thumb is not None and float(np.abs(thumb - self._thumb).mean()) > self.cfg.cut
        self.cuts += cut
        followed = None
        if self._grey is not None and not cut and self._since < self.cfg.every - 1 and scale == self._scale:
            followed = self._follow(self._grey, grey, last, scale) if last else []
            self.lost += followed is None
        self._grey, self._thumb, self._scale = grey, thumb, scale
        if followed is not None:
            self._since += 1
            return followed, False
        self._since = 0
        self.detections += 1
        return detect(), True

    def _follow(self, prev: np.ndarray, cur: np.ndarray, faces: list[Face], scale: float) -> list[Face] | None:
        """Each face moved from ``prev`` to ``cur``; None when any of them cannot be followed (then detect)."""
        pts = [_points(f) / scale for f in faces]
        p0 = np.concatenate(pts).reshape(-1, 1, 2)
        x0, y0, x1, y1 = _region(np.concatenate([f.box[None] for f in faces]) / scale, cur.shape)
        prev, cur, origin = prev[y0:y1, x0:x1], cur[y0:y1, x0:x1], np.float32([x0, y0])
        p0 = p0 - origin
        p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev, cur, p0, None, **_LK)
        back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, p1, None, **_LK)
        good = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
                                                          < self.cfg.max_error)
        moved = (p1.reshape(-1, 2) + origin) * scale
        out, start = [], 0
        for face, p in zip(faces, pts):
            end = start + len(p)
            ok = good[start:end]
            if ok.mean() < self.cfg.min_tracked:
                return None
            m, _ = cv2.estimateAffinePartial2D(p[ok] * scale, moved[start:end][ok], method=cv2.LMEDS)
            if m is None:
                return None
            out.append(_moved(face, m, moved[start:start + len(face.keypoints)], ok[:len(face.keypoints)]))
            start = end
        return out


def _region(boxes: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The part of the frame the faces can move in: their boxes' union, grown by half a face and the flow window."""
    side = float((boxes[:, 2:] - boxes[:, :2]).max())
    pad = 0.5 * side + _WIN[0] * 2 ** _LEVELS
    h, w = shape[:2]
    x0, y0 = (max(0, int(v - pad)) for v in boxes[:, :2].min(axis=0))
    x1, y1 = boxes[:, 2:].max(axis=0) + pad
    return x0, y0, min(w, int(x1) + 1), min(h, int(y1) + 1)


def _moved(face: Face, m: np.ndarray, flowed: np.ndarray, ok: np.ndarray) -> Face:
    """The face under the similarity ``m``; keypoints that tracked take their own flow."""
    corners = cv2.transform(face.box.reshape(1, 2, 2).astype(np.float32), m).reshape(2, 2)
    kps = cv2.transform(face.keypoints.reshape(1, -1, 2).astype(np.float32), m).reshape(-1, 2)
    kps[ok] = flowed[ok]
    box = np.concatenate([corners.min(axis=0), corners.max(axis=0)]).astype(np.float32)
    return Face(box=box, keypoints=kps.astype(np.float32), score=face.score)
