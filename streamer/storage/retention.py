"""Retention: prune the oldest finished scans (row, timeline, uploaded file) and alerts in the background.

``--retention-days``: scans and alerts older than that go. ``--max-storage-gb``: while uploads, timelines and
alert snapshots together take more, the oldest item goes (an old alert keeps its record, loses its picture).
A scan that is queued or running is never touched.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .store import Store

log = logging.getLogger(__name__)
DAY = 86400.0


@dataclass
class Pruned:
    scans: list[str] = field(default_factory=list)
    alerts: int = 0  # alerts deleted for their age
    snapshots: int = 0  # alert pictures dropped for space

    def __bool__(self) -> bool:
        return bool(self.scans or self.alerts or self.snapshots)


def own_upload(upload_dir: Path, path: Path) -> bool:
    """True for a file the server received (never a file of the server's media folder)."""
    return path.resolve().parent == upload_dir.resolve()


def remove_upload(upload_dir: Path, path: Path) -> None:
    if own_upload(upload_dir, path):
        path.unlink(missing_ok=True)


class Retention:
    def __init__(self, store: Store, upload_dir: Path, days: float | None = None, max_bytes: int | None = None,
                 busy: Callable[[str], bool] = lambda _id: False):
        self.store, self.upload_dir, self.days, self.max_bytes, self.busy = store, upload_dir, days, max_bytes, busy

    @property
    def enabled(self) -> bool:
        return self.days is not None or self.max_bytes is not None

    def upload_size(self, path: str) -> int:
        """Bytes of a scan's file if it is one of our uploads (a media-folder file is not ours to count)."""
        try:
            return Path(path).stat().st_size if own_upload(self.upload_dir, Path(path)) else 0
        except OSError:
            return 0

    def _delete_scan(self, row: dict, pruned: Pruned) -> None:
        if self.busy(row["id"]):
            return
        deleted = self.store.delete_scan(row["id"])
        if deleted is not None:
            remove_upload(self.upload_dir, Path(deleted["path"]))
            pruned.scans.append(row["id"])

    def prune(self, now: float | None = None) -> Pruned:
        """One pass; returns what went."""
        now = time.time() if now is None else now
        pruned = Pruned()
        if self.days is not None:
            cutoff = now - self.days * DAY
            for row in self.store.finished_scans(before=cutoff):
                self._delete_scan(row, pruned)
            pruned.alerts = self.store.delete_alerts_before(cutoff)
        if self.max_bytes is not None:
            self._prune_by_size(pruned)
        if pruned:
            log.info("retention: removed %d scan(s), %d alert(s), %d alert picture(s)", len(pruned.scans),
                     pruned.alerts, pruned.snapshots)
        return pruned

    def _prune_by_size(self, pruned: Pruned) -> None:
        scans = [(r["created"], "scan", r, r["bytes"] + self.upload_size(r["path"])) for r in
                 self.store.finished_scans(limit=100_000) if not self.busy(r["id"])]
        used = sum(size for *_, size in scans) + self.store.snapshot_bytes()
        alerts = self.store.oldest_alerts(limit=100_000) if used > self.max_bytes else []
        items = sorted(scans + [(a["created"], "alert", a, a["bytes"]) for a in alerts], key=lambda x: x[0])
        for _created, kind, item, size in items:
            if used <= self.max_bytes:
                break
            if kind == "scan":
                self._delete_scan(item, pruned)
            else:
                self.store.drop_snapshot(item["id"])
                pruned.snapshots += 1
            used -= size

    def clean_orphans(self) -> int:
        """At start-up (no upload in flight): delete partial uploads and uploaded files no scan refers to."""
        if not self.upload_dir.is_dir():
            return 0
        removed = 0
        for path in self.upload_dir.iterdir():
            if path.is_file() and (path.suffix == ".part" or self.store.scan(path.name) is None):
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("retention: removed %d upload file(s) no scan refers to", removed)
        return removed

    async def run(self, interval: float, on_pruned: Callable[[Pruned], None] = lambda _p: None) -> None:
        """Prune every ``interval`` seconds until cancelled; a failing pass is logged, never fatal."""
        while True:
            try:
                pruned = await asyncio.to_thread(self.prune)
                if pruned:
                    on_pruned(pruned)
            except Exception:  # a retention pass must never take the server down
                log.exception("retention pass failed")
            await asyncio.sleep(interval)
