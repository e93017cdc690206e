"""Segment-parallel file scans: split at keyframes, scan the segments at once, stitch one timeline.

The result has the shape of a whole-file scan (same frames, same track numbering, same summaries);
scores near a segment's start differ from the whole-file scan's within a small tolerance (see
``tests/files/segments/test_parallel_scan.py`` and the README), since each segment warms its tracker, temporal window
and smoothing up on ``WARMUP_SECONDS`` of video before its start instead of on everything before.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .. import timeline
from ...core.model import Manifest, Model
from ..scan import Progress, probe_media, scan_file
from ...core.scoring import ScoringConfig
from ...media.images import is_photo
from ...media.video import VideoInfo
from .plan import MIN_SEGMENT_SECONDS, WARMUP_SECONDS, FileIndex, NotSplittable, Segment, index_file, plan
from .pool import SegmentPool
from .stitch import join_tracks, summaries
from .worker import SegmentMismatch, SegmentResult, scan_segment

TOLERANCE = 0.02  # largest |score difference| from the whole-file scan allowed in tests (measured: see README)
Runner = Callable[[Path, list[Segment], Progress | None], list[SegmentResult]]

__all__ = ["MIN_SEGMENT_SECONDS", "TOLERANCE", "WARMUP_SECONDS", "FileIndex", "NotSplittable", "Segment", "SegmentPool",
           "SegmentResult", "assemble", "index_file", "plan", "scan_parallel", "scan_segment", "split"]


def assemble(path: Path | str, info: VideoInfo, manifest: Manifest, parts: list[SegmentResult],
             fps: float | None) -> dict:
    """One timeline from every segment's result."""
    frames = join_tracks(parts)
    return timeline.build(str(path), info, manifest, frames, summaries(frames, ScoringConfig.from_manifest(manifest)), fps)


def split(path: Path | str, parts: int, fps: float | None = None) -> list[Segment] | None:
    """The file's segments (one when it is too short to split), or None when its timestamps are not exact."""
    try:
        return plan(index_file(path), max(1, parts), fps)
    except NotSplittable:
        return None


def scan_parallel(path: Path | str, model: Model, run: Runner | None, parts: int, fps: float | None = None,
                  progress: Progress | None = None, whole: bool = False, info: VideoInfo | None = None,
                  every_frame: bool = False) -> dict:
    """A file's timeline from up to ``parts`` segments scanned by ``run`` (a pool's or Ray's). A file that
    does not split is scanned in one piece: by ``run`` too with ``whole`` (many files at once), else here;
    so is a file whose decoder disagrees with its index. ``info``: the file's probe, when the caller has it;
    ``every_frame``: as ``scan_file``."""
    path = Path(path)
    info = info or probe_media(path)
    if is_photo(info):
        return scan_file(path, model, fps, progress, info=info)
    segments = split(path, parts, fps) if run else None
    if segments and (len(segments) > 1 or whole):
        segments = [replace(s, every_frame=every_frame) for s in segments]
        try:
            return assemble(path, info, model.manifest, run(path, segments, progress), fps)
        except SegmentMismatch:
            pass
    return scan_file(path, model, fps, progress, info=info, every_frame=every_frame)
