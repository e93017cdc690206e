"""Alerts: a track whose window score stays above a threshold for long enough."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..core.analyzer import FaceResult, FrameResult
from ..core.scoring import NOT_SCORED
from ..media.images import snapshot
from ..media.video import Frame


@dataclass
class Alert:
    stream: str
    track_id: int
    pts: float
    score: float
    created: float = field(default_factory=time.time)
    snapshot: bytes = b""  # JPEG of the face
    id: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "stream": self.stream, "track_id": self.track_id, "pts": round(self.pts, 3),
                "score": round(self.score, 4), "created": self.created}


class AlertRule:
    """Raises one alert per episode: window score >= threshold for ``hold_seconds`` (stream time)."""

    def __init__(self, stream: str, threshold: float, hold_seconds: float):
        self.stream, self.threshold, self.hold_seconds = stream, threshold, hold_seconds
        self._above_since: dict[int, float] = {}
        self._alerted: set[int] = set()

    def check(self, result: FrameResult, frame: Frame) -> list[Alert]:
        """This frame's alerts; ``frame``'s pixels are read only for an alert's snapshot."""
        alerts = []
        present = set()
        for face in result.faces:
            present.add(face.track_id)
            alert = self._check_face(face, result.pts, frame)
            if alert:
                alerts.append(alert)
        for gone in set(self._above_since) - present:
            self._above_since.pop(gone)
        return alerts

    def _check_face(self, face: FaceResult, pts: float, frame: Frame) -> Alert | None:
        if face.verdict == NOT_SCORED or face.window_score is None or face.window_score < self.threshold:
            self._above_since.pop(face.track_id, None)
            self._alerted.discard(face.track_id)
            return None
        since = self._above_since.setdefault(face.track_id, pts)
        if pts - since < self.hold_seconds or face.track_id in self._alerted:
            return None
        self._alerted.add(face.track_id)
        return Alert(self.stream, face.track_id, pts, face.window_score, snapshot=snapshot(frame.image, face.box))

    def reset(self) -> None:
        self._above_since.clear()
        self._alerted.clear()
