"""Where a file splits: every video packet's timestamp, its keyframes, and segments cut at keyframes.

A segment owns the frames with ``start <= pts < end``. Its worker decodes from the keyframe at or before
``warm`` (decoding is cheap next to analysis), analyses from ``warm`` so that the tracker, the temporal
window and the smoothing are warm at ``start``, and keeps only what it analysed from ``start`` on.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ...media.video import Thinning, check_file, open_container

WARMUP_SECONDS = 3.0  # analysed before a segment's start and discarded (smoothing: 1 s time constant)
MIN_SEGMENT_SECONDS = 6.0  # shorter files are scanned in one piece


class NotSplittable(Exception):
    """The file's timestamps cannot be mapped to frames exactly; scan it in one piece."""


@dataclass(frozen=True)
class FileIndex:
    time_base: Fraction
    pts: list[int]  # presentation timestamps of every video packet, sorted (= decode output order)
    keyframes: list[int]  # sorted pts of the keyframe packets

    def time(self, pts: int) -> float:
        return float(pts * self.time_base)  # as PyAV's frame.time computes it

    @property
    def seconds(self) -> float:
        return self.time(self.pts[-1]) - self.time(self.pts[0]) if self.pts else 0.0


@dataclass(frozen=True)
class Segment:
    number: int
    seek: int  # pts of the keyframe decoding starts from
    warm: int  # first pts analysed
    start: int  # first pts kept
    end: int | None  # first pts of the next segment; None: to the end of the file
    first_index: int  # decode index of the frame at ``start`` in a scan of the whole file
    frames: int  # frames owned (decoded), start <= pts < end
    seconds: float  # video time owned (for progress)
    keep: frozenset[int] | None = None  # with an fps limit: the pts a whole-file scan analyses
    every_frame: bool = False  # detect and encode on every frame (``Analyzer``'s EVERY_FRAME), not SCAN sampling

    def owns(self, pts: int) -> bool:
        return pts >= self.start and (self.end is None or pts < self.end)


def index_file(path: Path | str) -> FileIndex:
    """Demux (no decoding) the first video stream: packet timestamps and keyframes."""
    path = Path(path)
    check_file(path)
    pts: list[int] = []
    keyframes: list[int] = []
    with open_container(str(path)) as container:
        if not container.streams.video:
            raise NotSplittable("no video stream")
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream flush packet
                if packet.pts is None:
                    raise NotSplittable("a packet has no timestamp")
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
        except av.error.FFmpegError as exc:
            raise NotSplittable(f"demuxing failed: {exc}") from exc
        time_base, declared = stream.time_base, stream.frames or 0
    pts.sort()
    keyframes.sort()
    if not pts or not keyframes or len(set(pts)) != len(pts) or keyframes[0] != pts[0]:
        raise NotSplittable("no clean keyframe at the start, or repeated timestamps")
    if declared and len(pts) < 0.9 * declared:
        raise NotSplittable("fewer packets than the container declares (truncated)")
    return FileIndex(time_base, pts, keyframes)


def sampled(times: list[float], fps: float) -> list[bool]:
    """Which frames a whole-file scan at ``fps`` analyses: the decoder's rule, over every frame."""
    thinning = Thinning(fps)
    return [thinning.keep(t) for t in times]


def _borders(index: FileIndex, parts: int, min_seconds: float) -> list[int]:
    """Segment starts after the first: the keyframe nearest each even split, at least ``min_seconds`` apart."""
    t0, span = index.time(index.pts[0]), index.seconds
    candidates = index.keyframes[1:] or index.pts[1:]  # one long GOP: any frame (decoded from the start)
    borders: list[int] = []
    last = t0
    for i in range(1, parts):
        ideal = t0 + span * i / parts
        best = min(candidates, key=lambda p: abs(index.time(p) - ideal), default=None)
        if best is None or index.time(best) - last < min_seconds or t0 + span - index.time(best) < min_seconds:
            continue
        if not borders or best > borders[-1]:
            borders.append(best)
            last = index.time(best)
    return borders


def plan(index: FileIndex, parts: int, fps: float | None = None, warmup: float = WARMUP_SECONDS,
         min_seconds: float = MIN_SEGMENT_SECONDS) -> list[Segment]:
    """Up to ``parts`` segments of about equal length (one when the file is too short to split)."""
    min_seconds = max(min_seconds, warmup)  # a warm-up must lie inside the previous segment
    starts = [index.pts[0], *_borders(index, parts, min_seconds)]
    keep: frozenset[int] | None = None
    if fps:
        flags = sampled([index.time(p) for p in index.pts], fps)
        keep = frozenset(p for p, k in zip(index.pts, flags) if k)
    segments = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else None
        first = bisect.bisect_left(index.pts, start)
        last = bisect.bisect_left(index.pts, end) if end is not None else len(index.pts)
        warm_t = index.time(start) - (warmup if n else 0.0)
        warm = index.pts[bisect.bisect_left([index.time(p) for p in index.pts[:first + 1]], warm_t - 1e-9)]
        seek = index.keyframes[bisect.bisect_right(index.keyframes, warm) - 1]
        own = keep and frozenset(p for p in index.pts[bisect.bisect_left(index.pts, warm):last] if p in keep)
        until = index.time(end) if end is not None else index.time(index.pts[-1])
        segments.append(Segment(n, seek, warm, start, end, first, last - first, until - index.time(start), own))
    return segments
