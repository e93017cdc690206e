"""Scanning a whole file as fast as it decodes: the engine behind `deepfake-streamer scan` and uploads."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import timeline
from .analyzer import Analyzer
from .model import Model
from .sources import file_frames, probe

Progress = Callable[[float, int], None]  # (seconds of video done, frames analysed)


def scan_file(path: Path, model: Model, fps: float | None = None, progress: Progress | None = None) -> dict:
    """Analyse every frame (or ``fps`` frames per second) of a video file; returns the timeline."""
    info = probe(path)
    analyzer = Analyzer(model)
    results = []
    try:
        for frame in file_frames(path, fps):
            results.append(analyzer.process(frame))
            if progress:
                progress(frame.pts, len(results))
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    return timeline.build(str(path), info, model.manifest, results, tracks, fps)
