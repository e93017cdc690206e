"""Latest analysed frame of each monitored stream as a small JPEG, for the dashboard's tiles.

Stream supervisors hand every analysed frame to ``Thumbnails.offer`` (on their analysis threads); at most
one JPEG a second per stream is encoded. ``GET /api/streams`` advertises ``"thumbnail"`` once one exists.
"""
from __future__ import annotations

import threading
import time
from urllib.parse import quote

import cv2

from ..media.video import Frame


def thumbnail_url(name: str) -> str:
    return f"/api/streams/{quote(name, safe='')}/thumbnail.jpg"


class Thumbnails:
    """One JPEG per stream, downscaled to ``max_width`` and re-encoded at most every ``interval`` seconds."""

    def __init__(self, max_width: int = 480, quality: int = 75, interval: float = 1.0):
        self.max_width, self.quality, self.interval = max_width, quality, interval
        self._latest: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def offer(self, name: str, frame: Frame, now: float | None = None) -> bool:
        """Keep ``frame`` as the stream's thumbnail unless the last one is recent (its pixels are read only then);
        True if kept."""
        now = time.time() if now is None else now
        with self._lock:
            last = self._latest.get(name)
            if last is not None and now - last[1] < self.interval:
                return False
        image, h, w = frame.image, frame.height, frame.width
        if w > self.max_width:
            image = cv2.resize(image, (self.max_width, max(1, round(h * self.max_width / w))),
                               interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return False
        with self._lock:
            self._latest[name] = (data.tobytes(), now)
        return True

    def get(self, name: str) -> tuple[bytes, float] | None:
        with self._lock:
            return self._latest.get(name)

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._latest

    def drop(self, name: str) -> None:
        with self._lock:
            self._latest.pop(name, None)
