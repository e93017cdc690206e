"""Stable ids for faces across frames: greedy matching on IoU and keypoint distance."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .faces import Face
from .faces.tiles import iou


@dataclass
class Track:
    id: int
    face: Face
    first_pts: float
    last_pts: float
    hits: int = 1
    missed: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))

    def predicted_box(self) -> np.ndarray:
        return self.face.box + self.velocity * (self.missed + 1)


def match_cost(track: Track, face: Face) -> float:
    """0 for a perfect match; >= 1 means no match."""
    box = track.predicted_box()
    overlap = iou(box, face.box)
    size = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    kp_dist = float(np.linalg.norm(track.face.keypoints - face.keypoints, axis=1).mean()) / size
    if overlap < 0.1 and kp_dist > 0.6:
        return 1.0
    return 0.5 * (1.0 - overlap) + 0.5 * min(kp_dist, 1.0)


class Tracker:
    """Assigns track ids to detections; a track ends after ``max_missed`` frames without a match."""

    def __init__(self, max_missed: int = 10, max_cost: float = 0.7):
        self.max_missed = max_missed
        self.max_cost = max_cost
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def update(self, faces: list[Face], pts: float) -> tuple[list[tuple[Track, Face]], list[Track]]:
        """Match this frame's faces; returns (matched or new track with its face, tracks that ended)."""
        pairs = sorted(
            (match_cost(t, f), tid, fi) for tid, t in self.tracks.items() for fi, f in enumerate(faces)
        )
        used_tracks: set[int] = set()
        assigned: dict[int, int] = {}
        for cost, tid, fi in pairs:
            if cost >= self.max_cost or tid in used_tracks or fi in assigned:
                continue
            used_tracks.add(tid)
            assigned[fi] = tid
        result = []
        for fi, face in enumerate(faces):
            track = self._advance(self.tracks[assigned[fi]], face, pts) if fi in assigned else self._start(face, pts)
            result.append((track, face))
        ended = []
        for tid in [t for t in self.tracks if t not in used_tracks and all(tr.id != t for tr, _ in result)]:
            track = self.tracks[tid]
            track.missed += 1
            if track.missed > self.max_missed:
                ended.append(self.tracks.pop(tid))
        return result, ended

    def _start(self, face: Face, pts: float) -> Track:
        track = Track(self._next_id, face, pts, pts)
        self.tracks[track.id] = track
        self._next_id += 1
        return track

    @staticmethod
    def _advance(track: Track, face: Face, pts: float) -> Track:
        track.velocity = 0.5 * track.velocity + 0.5 * (face.box - track.face.box)
        track.face, track.last_pts = face, pts
        track.hits += 1
        track.missed = 0
        return track

    def finish(self) -> list[Track]:
        ended = list(self.tracks.values())
        self.tracks.clear()
        return ended
