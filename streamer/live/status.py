"""What every live source reports: one status enum, and the typed events the pipeline and sources emit."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from ..core.analyzer import FrameResult
from .alerts import Alert


class Status(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    DEGRADED = "degraded"  # frames arrive but their analysis fails; ``error`` says why
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"


# What the pages show for each status; served to them by /api/config so that they never re-declare it.
STATUS_TEXT = {
    Status.CONNECTING: "Connecting", Status.LIVE: "Live", Status.DEGRADED: "Analysis failing",
    Status.STALLED: "Stalled", Status.RECONNECTING: "Reconnecting", Status.FAILED: "Failed",
    Status.STOPPED: "Stopped",
}
ENDED = frozenset({Status.FAILED, Status.STOPPED})


@dataclass(frozen=True)
class StatusEvent:
    stream: str
    kind: str  # the kind of source: "rtsp", "webrtc", "whip"
    status: Status
    error: str | None = None
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return {"type": "status", "stream": self.stream, "kind": self.kind, "status": str(self.status),
                "error": self.error, "time": self.time}


@dataclass(frozen=True)
class ResultEvent:
    stream: str
    kind: str
    result: FrameResult
    latency_ms: float

    def to_dict(self) -> dict:
        return {"type": "result", "stream": self.stream, "kind": self.kind, **self.result.to_dict(),
                "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class AlertEvent:
    alert: Alert
    kind: str = "rtsp"

    def to_dict(self) -> dict:
        return {"type": "alert", "kind": self.kind, **self.alert.to_dict()}


Event = StatusEvent | ResultEvent | AlertEvent
