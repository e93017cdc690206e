"""Per-track scores: a ring buffer of embeddings, the temporal window score, smoothing and a verdict."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .model import Manifest

REAL, FAKE, UNCERTAIN = "real", "fake", "uncertain"
NOT_SCORED = "not_scored"  # the face-quality gate refused the face (streamer/core/quality.py)


@dataclass(frozen=True)
class ScoringConfig:
    window: int  # embeddings per temporal window (T)
    stride: int  # new embeddings between temporal evaluations
    threshold: float
    uncertain_margin: float
    smoothing_seconds: float = 1.0  # time constant of the exponential smoothing
    min_frames: int = 3  # frames before any verdict other than uncertain
    every: int = 1  # a track's face is encoded every ``every`` frames; the frames between carry its last score

    @classmethod
    def from_manifest(cls, manifest: Manifest, threshold: float | None = None, **settings) -> ScoringConfig:
        """The model's window, stride, threshold and margin; ``threshold``: a stream's own calibrated one."""
        return cls(manifest.window, manifest.stride, manifest.threshold if threshold is None else threshold,
                   manifest.uncertain_margin, **settings)


def verdict(score: float | None, cfg: ScoringConfig, frames: int) -> str:
    """``fake`` at or above the threshold (the threshold is what sets the false-positive rate),
    ``uncertain`` within ``uncertain_margin`` below it or before ``min_frames``, else ``real``."""
    if score is None or frames < cfg.min_frames:
        return UNCERTAIN
    if score >= cfg.threshold:
        return FAKE
    return UNCERTAIN if score > cfg.threshold - cfg.uncertain_margin else REAL


class TrackScorer:
    """Rolling score of one track. Smoothing runs on timestamps, so skipped frames do not distort it.

    With ``cfg.every`` > 1 the track's face is encoded every ``every`` frames: ``wants()`` is False on the frames
    between, which ``carry`` the last score. A window is always the last ``window`` encoded faces (spanning
    ``window * every`` frames), due every ``stride`` of them."""

    def __init__(self, cfg: ScoringConfig):
        self.cfg = cfg
        self.embeddings: deque[np.ndarray] = deque(maxlen=cfg.window)
        self.frames = 0
        self._since_window = 0
        self.frame_score: float | None = None
        self.window_score: float | None = None
        self.score: float | None = None
        self._last_pts: float | None = None
        self.score_sum = 0.0  # running totals of the smoothed score: constant memory for endless tracks
        self.score_count = 0
        self.score_max = 0.0
        self._rest = 0  # frames still to carry before the next encoding

    def wants(self) -> bool:
        """Whether this frame's face should be encoded (False: carry the last score)."""
        return self._rest == 0 or self.score is None

    def carry(self) -> float:
        """A frame whose face is not encoded: it holds the last smoothed score, which counts in the track's mean."""
        assert self.score is not None
        self._rest -= 1
        self._count(self.score)
        return self.score

    def add(self, embedding: np.ndarray, frame_score: float) -> bool:
        """Store a frame's embedding; True when a temporal window is due."""
        self.embeddings.append(embedding)
        self.frame_score = float(frame_score)
        self.frames += 1
        self._since_window += 1
        self._rest = self.cfg.every - 1
        full = len(self.embeddings) == self.cfg.window
        due = full and (self._since_window >= self.cfg.stride or self._since_window == len(self.embeddings))
        if due:
            self._since_window = 0
        return due

    def window(self) -> np.ndarray:
        return np.stack(self.embeddings)

    def update(self, pts: float, window_score: float | None) -> float:
        """Fold the newest evidence into the smoothed score (window score once there is one)."""
        if window_score is not None:
            self.window_score = float(window_score)
        raw = self.window_score if self.window_score is not None else self.frame_score
        assert raw is not None
        if self.score is None or self._last_pts is None:
            self.score = raw
        else:
            dt = max(pts - self._last_pts, 0.0)
            alpha = 1.0 - float(np.exp(-dt / self.cfg.smoothing_seconds)) if self.cfg.smoothing_seconds > 0 else 1.0
            self.score += alpha * (raw - self.score)
        self._last_pts = pts
        self._count(self.score)
        return self.score

    def _count(self, score: float) -> None:
        self.score_sum += score
        self.score_count += 1
        self.score_max = max(self.score_max, score)

    @property
    def mean_score(self) -> float:
        return self.score_sum / self.score_count if self.score_count else 0.0

    @property
    def verdict(self) -> str:
        return verdict(self.score, self.cfg, self.frames)
