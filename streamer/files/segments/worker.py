"""One segment's scan, in whatever process runs it (a local worker process or a Ray task)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av

from ...core.analyzer import EVERY_FRAME, SCAN, Analyzer, FrameResult
from ...core.model import Model
from ...media.video import Frame, MediaError, open_container, single_threaded
from .plan import Segment

REPORT_EVERY = 0.25  # seconds of wall time between progress reports
Report = Callable[[int, float, int], None]  # (segment number, seconds of its video done, frames analysed)


class Cancelled(Exception):
    """The scan this segment belongs to was called off."""


class SegmentMismatch(Exception):
    """The decoder gave other frames than the demuxer's index promised; scan the file in one piece."""


@dataclass
class SegmentResult:
    number: int
    frames: list[FrameResult] = field(default_factory=list)  # analysed frames the segment owns
    overlap: list[FrameResult] = field(default_factory=list)  # warm-up frames: only to join tracks
    node: str = ""  # where it ran, when a cluster ran it


def scan_segment(path: Path | str, segment: Segment, model: Model, report: Report | None = None,
                 cancelled: Callable[[], bool] | None = None) -> SegmentResult:
    """Analyse one segment with a fresh analyzer (its own detector, tracker and scorers)."""
    result = SegmentResult(segment.number)
    analyzer = Analyzer(model, sampling=EVERY_FRAME if segment.every_frame else SCAN, heat=True)
    try:
        with open_container(str(path)) as container:
            _run(container, str(path), segment, analyzer, result, report, cancelled)
    finally:
        analyzer.close()
    return result


def _frames(container: av.container.InputContainer, name: str, segment: Segment):
    stream = container.streams.video[0]
    single_threaded(stream)
    container.seek(segment.seek, stream=stream, backward=True, any_frame=False)
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                raise SegmentMismatch("a decoded frame has no timestamp")
            if frame.pts < segment.seek:
                continue  # leading frames of an open GOP before the seek point
            if segment.end is not None and frame.pts >= segment.end:
                return
            yield frame
    except av.error.FFmpegError as exc:
        raise MediaError(f"{name}: decoding failed in segment {segment.number} ({exc.strerror or exc})") from exc


def _run(container, name: str, segment: Segment, analyzer: Analyzer, result: SegmentResult,
         report: Report | None, cancelled: Callable[[], bool] | None) -> None:
    owned, analysed, last_report = 0, 0, time.monotonic()
    start_t = float(segment.start * container.streams.video[0].time_base)
    for frame in _frames(container, name, segment):
        mine = segment.owns(frame.pts)
        index = segment.first_index + owned
        owned += mine
        if frame.pts < segment.warm or (segment.keep is not None and frame.pts not in segment.keep):
            continue
        out = analyzer.process(Frame.decoded(frame, float(frame.time), index if mine else -1))
        (result.frames if mine else result.overlap).append(out)
        analysed += 1
        if time.monotonic() - last_report >= REPORT_EVERY:
            last_report = time.monotonic()
            if cancelled and cancelled():
                raise Cancelled()
            if report and mine:
                report(segment.number, float(frame.time) - start_t, len(result.frames))
    if owned != segment.frames:
        raise SegmentMismatch(f"segment {segment.number}: decoded {owned} frames, the index has {segment.frames}")
    analyzer.finish()
