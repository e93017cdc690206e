"""One stream's analysis: frames -> faces -> tracks -> crops -> encoder -> temporal head -> scores."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import heat as heatmap
from .faces import Face, FaceDetector, align_crop
from ..runtime.metrics import ANALYSIS_SECONDS
from .model import Model
from .motion import FaceFollower, FollowConfig
from .quality import Quality, QualityConfig, assess
from .scoring import NOT_SCORED, ScoringConfig, TrackScorer, verdict
from ..media.video import Frame
from .tracker import Track, Tracker


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class FaceResult:
    """One face in one frame. A face the quality gate refused has verdict ``not_scored``, a
    ``reason`` and no scores."""

    track_id: int
    box: list[float]
    detector_score: float
    frame_score: float | None
    window_score: float | None
    score: float | None
    verdict: str
    reason: str | None = None
    new_window: bool = False  # window_score was computed on this frame (not serialised)
    carried: bool = False  # not encoded: the track's last scores, carried to this frame
    heat: str | None = None  # the model's heatmap of the crop, hex digits (heat.py); only from models that have one

    def to_dict(self) -> dict:
        out = {
            "track_id": self.track_id, "box": [round(v, 1) for v in self.box],
            "detector_score": round(self.detector_score, 4), "frame_score": _round(self.frame_score),
            "window_score": _round(self.window_score), "score": _round(self.score), "verdict": self.verdict,
            "reason": self.reason,
        }
        if self.carried:
            out["carried"] = True
        if self.heat is not None:
            out["heat"] = self.heat
        return out


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
    """A track's scored frames decide its verdict; a track with none is ``not_scored`` and gives
    the most frequent reason."""

    track_id: int
    first_pts: float
    last_pts: float
    frames: int  # frames holding a score (carried ones too)
    mean_score: float | None
    max_score: float | None
    verdict: str
    not_scored: int = 0  # frames the quality gate refused
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"track_id": self.track_id, "first_pts": round(self.first_pts, 3), "last_pts": round(self.last_pts, 3),
                "frames": self.frames, "mean_score": _round(self.mean_score),
                "max_score": _round(self.max_score), "verdict": self.verdict,
                "not_scored": self.not_scored, "reason": self.reason}


@dataclass(frozen=True)
class Sampling:
    """How much of each frame's work a stream gets: the detector every ``detect_every`` frames (faces followed by
    optical flow in between, ``core.motion``), and each track's face encoded every ``encode_every`` frames, the
    frames between carrying its last score (``TrackScorer``; the temporal window is the last ``window`` encoded
    faces). The defaults analyse every frame."""

    detect_every: int = 1
    encode_every: int = 1

    def __post_init__(self) -> None:
        if self.detect_every < 1 or self.encode_every < 1:
            raise ValueError(f"sampling intervals must be at least 1 frame: {self}")


EVERY_FRAME = Sampling()
# Scans: chosen with bench/sampling.py on the real clips (the README, *Measured*: "sampling").
SCAN = Sampling(detect_every=6, encode_every=3)
# Live streams: the same detection interval, more faces encoded, so a verdict follows a change sooner.
LIVE = Sampling(detect_every=6, encode_every=2)


def summarise(track_id: int, first_pts: float, last_pts: float, frames: int, mean: float | None,
              top: float | None, refused: dict[str, int], cfg: ScoringConfig) -> TrackSummary:
    """The one track summary rule: the mean smoothed score of the ``frames`` scored frames decides the verdict;
    a track with none is ``not_scored``; ``refused`` counts the quality gate's refusals by reason."""
    reason = max(refused, key=refused.get) if refused else None
    if not frames:
        return TrackSummary(track_id, first_pts, last_pts, 0, None, None, NOT_SCORED, sum(refused.values()), reason)
    return TrackSummary(track_id, first_pts, last_pts, frames, mean, top, verdict(mean, cfg, frames),
                        sum(refused.values()), reason)


class Analyzer:
    """Analyses the frames of one stream in order. Not thread-safe: one thread per analyzer."""

    def __init__(self, model: Model, detector: FaceDetector | None = None, tracker: Tracker | None = None,
                 smoothing_seconds: float = 1.0, source: str = "file", keep_summaries: int | None = None,
                 quality: QualityConfig | None = None, threshold: float | None = None,
                 sampling: Sampling = EVERY_FRAME, heat: bool = False):
        self.model = model
        self.heat = heat and model.manifest.heatmap_size is not None  # file scans keep each face's heatmap
        self.keep_summaries = keep_summaries  # live streams: only the newest tracks' summaries
        self._latency = ANALYSIS_SECONDS.labels(source)
        m = model.manifest
        self.quality = quality or QualityConfig()
        self.cfg = ScoringConfig.from_manifest(m, threshold, smoothing_seconds=smoothing_seconds,
                                               every=sampling.encode_every)
        self.sampling = sampling
        self.follower = FaceFollower(FollowConfig(every=sampling.detect_every))
        self._last_faces: list[Face] = []
        self.detector = detector or FaceDetector()
        self.tracker = tracker or Tracker()
        self.scorers: dict[int, TrackScorer] = {}
        self.summaries: dict[int, TrackSummary] = {}
        self.refused: dict[int, dict[str, int]] = {}  # track -> quality-gate reason -> frames
        self.frames = 0

    def process(self, frame: Frame) -> FrameResult:
        with self._latency.time():
            return self._process(frame)

    def _process(self, frame: Frame) -> FrameResult:
        faces, _ = self.follower.faces(frame, self._last_faces, lambda: self.detector.detect(frame.image, frame.pts))
        matched, ended = self.tracker.update(faces, frame.pts)
        self._last_faces = [face for _, face in matched]
        for track in ended:
            self._close(track)
        result = FrameResult(frame.pts, frame.index, frame.width, frame.height)
        self.frames += 1
        if not matched:
            return result
        carried = {track.id: self._carry(track, face) for track, face in matched if self._resting(track)}
        checked = [(track, face, assess(frame.image, face, self.quality)) for track, face in matched
                   if track.id not in carried]
        scored = [(track, face) for track, face, q in checked if q.ok]
        results = dict(self._score(frame, scored)) if scored else {}
        refused = {track.id: self._refuse(track, face, q) for track, face, q in checked if not q.ok}
        result.faces = [(carried | results | refused)[track.id] for track, _ in matched]
        return result

    def _resting(self, track: Track) -> bool:
        scorer = self.scorers.get(track.id)
        return scorer is not None and not scorer.wants()

    def _carry(self, track: Track, face: Face) -> FaceResult:
        """A face not sent to the encoder: its track's last scores and verdict, marked ``carried``."""
        scorer = self.scorers[track.id]
        score = scorer.carry()
        self._summarise(track)
        return FaceResult(track.id, face.box.tolist(), face.score, scorer.frame_score, scorer.window_score, score,
                          scorer.verdict, carried=True)

    def _score(self, frame: Frame, matched: list[tuple[Track, Face]]) -> list[tuple[int, FaceResult]]:
        crops = np.stack([self._crop(frame.image, face) for _, face in matched])
        if self.heat:
            embeddings, frame_scores, grids = self.model.encode_full(crops)
            heats = [heatmap.encode(g) for g in grids]
        else:
            embeddings, frame_scores = self.model.encode(crops)
            heats = [None] * len(crops)
        scorers = [self.scorers.setdefault(t.id, TrackScorer(self.cfg)) for t, _ in matched]
        due = [i for i, s in enumerate(scorers) if s.add(embeddings[i], frame_scores[i])]
        window_scores = self.model.temporal(np.stack([scorers[i].window() for i in due])) if due else []
        by_index = dict(zip(due, window_scores))
        out = []
        for i, ((track, face), scorer) in enumerate(zip(matched, scorers)):
            score = scorer.update(frame.pts, by_index.get(i))
            out.append((track.id, FaceResult(track.id, face.box.tolist(), face.score, scorer.frame_score,
                                             scorer.window_score, score, scorer.verdict, None, i in by_index,
                                             heat=heats[i])))
            self._summarise(track)
        return out

    def _refuse(self, track: Track, face: Face, q: Quality) -> FaceResult:
        """A face the quality gate refused: no score, and the track's smoothed score is left alone."""
        counts = self.refused.setdefault(track.id, {})
        counts[q.reason] = counts.get(q.reason, 0) + 1
        self._summarise(track)
        return FaceResult(track.id, face.box.tolist(), face.score, None, None, None, NOT_SCORED, q.reason)

    def _crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        m = self.model.manifest
        return align_crop(image, face.keypoints, face.box, m.input_size, m.crop_margin)

    def _summarise(self, track: Track) -> None:
        scorer = self.scorers.get(track.id)
        # frames holding a score, carried ones too
        scored = (scorer.score_count, scorer.mean_score, scorer.score_max) if scorer and scorer.frames else (0, None, None)
        self.summaries[track.id] = summarise(track.id, track.first_pts, track.last_pts, *scored,
                                             self.refused.get(track.id, {}), self.cfg)

    def _close(self, track: Track) -> None:
        self.scorers.pop(track.id, None)
        self.refused.pop(track.id, None)
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
        self.follower = FaceFollower(self.follower.cfg)
        self._last_faces = []
        self.scorers.clear()
        self.summaries.clear()
        self.refused.clear()

    def close(self) -> None:
        self.detector.close()
