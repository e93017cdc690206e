"""One stream's analysis: frames -> faces -> tracks -> crops -> encoder -> temporal head -> scores."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .faces import Face, FaceDetector, align_crop
from .metrics import ANALYSIS_SECONDS
from .model import Model
from .scoring import ScoringConfig, TrackScorer, verdict
from .sources import Frame
from .tracker import Track, Tracker


@dataclass
class FaceResult:
    track_id: int
    box: list[float]
    detector_score: float
    frame_score: float
    window_score: float | None
    score: float
    verdict: str

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id, "box": [round(v, 1) for v in self.box],
            "detector_score": round(self.detector_score, 4), "frame_score": round(self.frame_score, 4),
            "window_score": None if self.window_score is None else round(self.window_score, 4),
            "score": round(self.score, 4), "verdict": self.verdict,
        }


@dataclass
class FrameResult:
    pts: float
    frame_index: int
    width: int
    height: int
    faces: list[FaceResult] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"pts": round(self.pts, 4), "frame_index": self.frame_index, "faces": [f.to_dict() for f in self.faces]}


@dataclass
class TrackSummary:
    track_id: int
    first_pts: float
    last_pts: float
    frames: int
    mean_score: float
    max_score: float
    verdict: str

    def to_dict(self) -> dict:
        return {"track_id": self.track_id, "first_pts": round(self.first_pts, 3), "last_pts": round(self.last_pts, 3),
                "frames": self.frames, "mean_score": round(self.mean_score, 4),
                "max_score": round(self.max_score, 4), "verdict": self.verdict}


class Analyzer:
    """Analyses the frames of one stream in order. Not thread-safe: one thread per analyzer."""

    def __init__(self, model: Model, detector: FaceDetector | None = None, tracker: Tracker | None = None,
                 smoothing_seconds: float = 1.0, source: str = "file", keep_summaries: int | None = None):
        self.model = model
        self.keep_summaries = keep_summaries  # live streams: only the newest tracks' summaries
        self._latency = ANALYSIS_SECONDS.labels(source)
        m = model.manifest
        self.cfg = ScoringConfig(m.window, m.stride, m.threshold, m.uncertain_margin, smoothing_seconds)
        self.detector = detector or FaceDetector()
        self.tracker = tracker or Tracker()
        self.scorers: dict[int, TrackScorer] = {}
        self.summaries: dict[int, TrackSummary] = {}
        self.frames = 0

    def process(self, frame: Frame) -> FrameResult:
        with self._latency.time():
            return self._process(frame)

    def _process(self, frame: Frame) -> FrameResult:
        faces = self.detector.detect(frame.image, frame.pts)
        matched, ended = self.tracker.update(faces, frame.pts)
        for track in ended:
            self._close(track)
        result = FrameResult(frame.pts, frame.index, frame.image.shape[1], frame.image.shape[0])
        self.frames += 1
        if not matched:
            return result
        crops = np.stack([self._crop(frame.image, face) for _, face in matched])
        embeddings, frame_scores = self.model.encode(crops)
        scorers = [self.scorers.setdefault(t.id, TrackScorer(self.cfg)) for t, _ in matched]
        due = [i for i, s in enumerate(scorers) if s.add(embeddings[i], frame_scores[i])]
        window_scores = self.model.temporal(np.stack([scorers[i].window() for i in due])) if due else []
        by_index = dict(zip(due, window_scores))
        for i, ((track, face), scorer) in enumerate(zip(matched, scorers)):
            score = scorer.update(frame.pts, by_index.get(i))
            result.faces.append(FaceResult(track.id, face.box.tolist(), face.score, scorer.frame_score or 0.0,
                                           scorer.window_score, score, scorer.verdict))
            self._summarise(track, scorer)
        return result

    def _crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        m = self.model.manifest
        return align_crop(image, face.keypoints, face.box, m.input_size, m.crop_margin)

    def _summarise(self, track: Track, scorer: TrackScorer) -> None:
        mean = scorer.mean_score
        self.summaries[track.id] = TrackSummary(
            track.id, track.first_pts, track.last_pts, scorer.frames,
            mean, scorer.score_max, verdict(mean, self.cfg, scorer.frames))

    def _close(self, track: Track) -> None:
        self.scorers.pop(track.id, None)
        while self.keep_summaries is not None and len(self.summaries) > self.keep_summaries:
            self.summaries.pop(next(iter(self.summaries)))

    def finish(self) -> list[TrackSummary]:
        """End every open track and return all track summaries, by id."""
        for track in self.tracker.finish():
            self._close(track)
        return [self.summaries[k] for k in sorted(self.summaries)]

    def reset(self) -> None:
        """Forget every track (a new connection to the same source); the detector is kept."""
        self.tracker = Tracker(self.tracker.max_missed, self.tracker.max_cost)
        self.scorers.clear()
        self.summaries.clear()

    def close(self) -> None:
        self.detector.close()
