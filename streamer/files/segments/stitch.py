"""Segments back into one scan: track ids joined across borders, renumbered as a whole-file scan numbers them.

Each segment's warm-up frames are also the previous segment's last frames; there the two segments saw
the same faces (detection is per frame), so a track of the later segment takes the id of the earlier
segment's track whose boxes it overlapped on most of those frames. Ids are then renumbered in order of
first appearance, as a whole-file tracker hands them out, and the track summaries are recomputed from
the stitched frames the way the analyzer computes them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np

from ...core.analyzer import FaceResult, FrameResult, TrackSummary, summarise
from ...core.scoring import NOT_SCORED, ScoringConfig
from ...core.tracker import iou
from .worker import SegmentResult

MIN_IOU = 0.5


def _key(pts: float) -> float:
    return round(pts, 6)


def _votes(before: dict[float, FrameResult], overlap: list[FrameResult]) -> Counter:
    """(later segment's local id, earlier segment's id) -> frames on which their boxes overlapped."""
    votes: Counter = Counter()
    for frame in overlap:
        earlier = before.get(_key(frame.pts))
        if earlier is None:
            continue
        for face in frame.faces:
            for other in earlier.faces:
                if iou(np.asarray(face.box), np.asarray(other.box)) >= MIN_IOU:
                    votes[(face.track_id, other.track_id)] += 1
    return votes


def _join(votes: Counter, locals_: set[int], next_id: int) -> tuple[dict[int, int], int]:
    """Local id -> joined id: most votes first, one to one; the rest get new ids."""
    mapping: dict[int, int] = {}
    taken: set[int] = set()
    for (local, joined), _ in votes.most_common():
        if local in locals_ and local not in mapping and joined not in taken:
            mapping[local] = joined
            taken.add(joined)
    for local in sorted(locals_ - mapping.keys()):
        mapping[local] = next_id
        next_id += 1
    return mapping, next_id


def _relabel(frames: list[FrameResult], mapping: dict[int, int]) -> list[FrameResult]:
    return [replace(f, faces=[replace(face, track_id=mapping[face.track_id]) for face in f.faces]) for f in frames]


def join_tracks(parts: list[SegmentResult]) -> list[FrameResult]:
    """The owned frames of every segment, in order, with track ids joined across borders."""
    frames: list[FrameResult] = []
    next_id = 1
    previous: dict[float, FrameResult] = {}
    for part in sorted(parts, key=lambda p: p.number):
        locals_ = {face.track_id for f in part.frames for face in f.faces}
        mapping, next_id = _join(_votes(previous, part.overlap), locals_, next_id)
        own = _relabel(part.frames, mapping)
        frames.extend(own)
        previous = {_key(f.pts): f for f in own}
    return renumber(frames)


def renumber(frames: list[FrameResult]) -> list[FrameResult]:
    """Ids 1, 2, ... in order of first appearance (a whole-file tracker's order)."""
    order: dict[int, int] = {}
    for frame in frames:
        for face in frame.faces:
            order.setdefault(face.track_id, len(order) + 1)
    return _relabel(frames, order)


def summaries(frames: list[FrameResult], cfg: ScoringConfig) -> list[TrackSummary]:
    """Per-track summaries from the frames, as ``Analyzer`` keeps them: mean and max of the smoothed score over
    the scored frames, the count of frames the quality gate refused and its most frequent reason."""
    faces: dict[int, list[tuple[float, FaceResult]]] = {}
    for frame in frames:
        for face in frame.faces:
            faces.setdefault(face.track_id, []).append((frame.pts, face))
    return [_summary(tid, faces[tid], cfg) for tid in sorted(faces)]


def _summary(tid: int, seen: list[tuple[float, FaceResult]], cfg: ScoringConfig) -> TrackSummary:
    scores = [face.score for _, face in seen if face.verdict != NOT_SCORED and face.score is not None]
    refused: dict[str, int] = {}
    for _, face in seen:
        if face.verdict == NOT_SCORED:
            refused[face.reason or ""] = refused.get(face.reason or "", 0) + 1
    mean, top = (sum(scores) / len(scores), max(0.0, *scores)) if scores else (None, None)
    return summarise(tid, seen[0][0], seen[-1][0], len(scores), mean, top, refused, cfg)
