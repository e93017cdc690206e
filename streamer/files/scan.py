"""Scanning a whole file as fast as it decodes: the engine behind `deepfake-streamer scan` and uploads."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import timeline
from ..core.analyzer import EVERY_FRAME, SCAN, Analyzer
from ..core.faces import FaceDetector
from ..media.images import image_kind, is_photo, probe_image
from ..core.model import Model
from ..media.video import VideoInfo, check_file, file_frames, prefetch, probe
from .still import scan_image

Progress = Callable[[float, int], None]  # (seconds of video done, frames analysed)


def is_still(path: Path | str) -> bool:
    """A photo (JPEG, PNG, WebP), told by its content, not its name."""
    check_file(Path(path))
    return image_kind(path) is not None


def probe_media(path: Path | str) -> VideoInfo:
    """Validate a photo or a video file and describe it, or raise MediaError."""
    return probe_image(path) if is_still(path) else probe(path)


def scan_file(path: Path, model: Model, fps: float | None = None, progress: Progress | None = None,
              detector: str | None = None, info: VideoInfo | None = None, every_frame: bool = False) -> dict:
    """Analyse every frame (or ``fps`` frames per second) of a video file, or a photo; returns the timeline.
    ``info``: the file's probe, when the caller has it (a file is probed once per scan).

    Every analysed frame gets its faces and scores; by default (``SCAN`` sampling) most are followed from the
    last detection and carry their track's last score (``carried``); ``every_frame`` detects and encodes all."""
    info = info or probe_media(path)
    if is_photo(info):
        result = scan_image(path, model, detector)
        if progress:
            progress(0.0, 1)
        return result
    analyzer = Analyzer(model, detector=FaceDetector(mode=detector), sampling=EVERY_FRAME if every_frame else SCAN,
                        heat=True)
    results = []
    try:
        for frame in prefetch(file_frames(path, fps)):
            results.append(analyzer.process(frame))
            if progress:
                progress(frame.pts, len(results))
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    return timeline.build(str(path), info, model.manifest, results, tracks, fps)
