"""Analysing a photo: every face of one still, each with its own verdict from the frame-level score.

A still has no temporal window, so its evidence is the encoder's calibrated frame score, compared to
the model's threshold with the model's uncertain band: "uncertain" means a score close to the
threshold, never merely that there is no window.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import timeline
from ..core.analyzer import Analyzer, FaceResult, FrameResult, TrackSummary
from ..core.faces import FaceDetector
from ..media.images import MIME, image_kind, read_image
from ..core.model import Manifest, Model
from ..core.scoring import ScoringConfig, verdict
from ..media.video import Frame, VideoInfo

MAX_FACES = 32  # group photos


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


def scan_image(path: Path, model: Model, detector: str | None = None) -> dict:
    """The timeline of a photo: one frame, one track per face."""
    image = read_image(path)
    analyzer = Analyzer(model, detector=FaceDetector(mode=detector, still=True, max_faces=MAX_FACES), heat=True)
    try:
        result = analyzer.process(Frame(image, 0.0, 0))
    finally:
        analyzer.close()
    frame, tracks = judge(result, model.manifest)
    info = VideoInfo(image.shape[1], image.shape[0], 0.0, None, 1, MIME[image_kind(path) or "jpeg"])
    out = timeline.build(str(path), info, model.manifest, [frame], tracks, None)
    out["video"]["still"] = True
    out["model"]["still_threshold"] = model.manifest.threshold
    return out
