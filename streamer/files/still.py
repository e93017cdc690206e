"""Analysing a photo: every face of one still, each with its own verdict from the frame-level score.

A still has no temporal window, so its evidence is the encoder's calibrated frame score, compared to
the model's threshold with the model's uncertain band: "uncertain" means a score close to the
threshold, never merely that there is no window.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from . import timeline
from ..core.analyzer import Analyzer, FaceResult, FrameResult, TrackSummary
from ..core.faces import FaceDetector
from ..media.images import MIME, image_kind, read_still
from ..core.model import Manifest, Model
from ..core.scoring import ScoringConfig, verdict
from ..media.video import Frame, VideoInfo

MAX_FACES = 32  # group photos
PAD_GREY = (128, 128, 128)


def still_verdict(score: float, manifest: Manifest) -> str:
    """The streams' rule on one frame: fake at or above the threshold, uncertain just below it, else real."""
    return verdict(score, ScoringConfig.from_manifest(manifest, min_frames=1), 1)


def judge(result: FrameResult, manifest: Manifest) -> tuple[FrameResult, list[TrackSummary]]:
    """A still's faces scored by their frame score alone, and one single-frame track per face."""
    faces: list[FaceResult] = []
    tracks: list[TrackSummary] = []
    for face in result.faces:
        if face.frame_score is None:  # refused by the quality gate: not_scored, with its reason
            faces.append(face)
            tracks.append(TrackSummary(face.track_id, result.pts, result.pts, 1, None, None, face.verdict, 1,
                                       face.reason))
            continue
        verdict = still_verdict(face.frame_score, manifest)
        faces.append(replace(face, score=face.frame_score, verdict=verdict))
        tracks.append(TrackSummary(face.track_id, result.pts, result.pts, 1, face.frame_score, face.frame_score,
                                   verdict))
    return replace(result, faces=faces), tracks


def padded(image: np.ndarray) -> tuple[np.ndarray, int]:
    """A copy with a plain grey margin of half the longer side all round, and that margin in pixels: the
    detector needs some context around a face, which a photo cut tight to the face lacks."""
    margin = max(image.shape[:2]) // 2
    return cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_CONSTANT,
                              value=PAD_GREY), margin


def to_photo(result: FrameResult, offset: float, scale: float, width: int, height: int) -> FrameResult:
    """Boxes moved from the analysed image (``offset`` margin, ``scale`` pixels per photo pixel) to the photo's own
    pixels, kept inside it."""
    def move(box: list[float]) -> list[float]:
        x0, y0, x1, y1 = ((v - offset) / scale for v in box)
        return [min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width),
                min(max(y1, 0.0), height)]

    return replace(result, width=width, height=height, faces=[replace(f, box=move(f.box)) for f in result.faces])


def analyse(image: np.ndarray, model: Model, detector: str | None) -> FrameResult:
    analyzer = Analyzer(model, detector=FaceDetector(mode=detector, still=True, max_faces=MAX_FACES), heat=True)
    try:
        return analyzer.process(Frame(image, 0.0, 0))
    finally:
        analyzer.close()


def scan_image(path: Path, model: Model, detector: str | None = None) -> dict:
    """The timeline of a photo: one frame, one track per face. A photo without a face is tried once more on a
    padded copy (a tight crop of a face); ``video.padded`` then says so. A photo over 12 megapixels is
    analysed shrunk (``video.analysed_scale``); boxes are always in the photo's own pixels."""
    still = read_still(path)
    result, margin = analyse(still.image, model, detector), 0
    if not result.faces:
        copy, pad = padded(still.image)
        retried = analyse(copy, model, detector)
        if retried.faces:
            result, margin = retried, pad
    result = to_photo(result, margin, still.scale, still.width, still.height)
    frame, tracks = judge(result, model.manifest)
    info = VideoInfo(still.width, still.height, 0.0, None, 1, MIME[image_kind(path) or "jpeg"])
    out = timeline.build(str(path), info, model.manifest, [frame], tracks, None)
    out["video"]["still"] = True
    if still.scale < 1:
        out["video"]["analysed_scale"] = round(still.scale, 4)
    if margin:
        out["video"]["padded"] = round(margin / still.scale)
    out["model"]["still_threshold"] = model.manifest.threshold
    return out
