"""File scans: accepted at once, analysed in the background, progress pushed live, kept in SQLite."""
from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from pathlib import Path

from ..core.inference import default_threads
from ..core.model import Model
from ..storage.retention import remove_upload
from ..files.segments import SegmentPool, scan_parallel
from ..media.video import MediaError
from ..storage.store import AsyncStore
from ..files.timeline import summary
from .events import EventHub

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.25  # seconds of wall time between progress events
SEGMENT_SECONDS = 120.0  # longest segment of an upload: a scan that comes later waits at most about one


def segment_count(duration: float, workers: int) -> int:
    """Segments for a file: a multiple of ``workers`` (none idles at the end), none much over
    ``SEGMENT_SECONDS`` (several scans share the workers segment by segment)."""
    return workers * max(1, math.ceil(duration / (workers * SEGMENT_SECONDS)))


class ScanQueueFull(Exception):
    pass


class ScanCancelled(Exception):
    pass


class ScanService:
    """At most ``max_queued`` scans are queued, running or being uploaded: a slot is reserved (synchronously)
    when a request starts, so concurrent uploads cannot overbook.

    A video that splits is cut at keyframes into segments scanned by ``workers`` processes (as `scan` does;
    started on the first such file, kept until close). ``workers + 1`` scans run at once: the workers are
    shared between them segment by segment, the next free one going to the scan with the fewest running
    (``segments.fair``), and the extra slot lets a short file, scanned in this process, pass while long ones
    hold the workers. With one worker, scans run one at a time in this process."""

    def __init__(self, store: AsyncStore, model: Model, hub: EventHub, upload_dir: Path,
                 max_queued: int = 16, workers: int | None = None):
        self.store, self.model, self.hub, self.upload_dir = store, model, hub, upload_dir
        self.max_queued = max_queued
        self.reserved = 0  # slots held by requests still uploading or probing
        self.workers = default_threads() if workers is None else workers
        self._pool: SegmentPool | None = None
        self._pool_lock = threading.Lock()
        self._slots = asyncio.Semaphore(self.workers + 1 if self.workers > 1 else 1)
        self._segments: dict[str, int] = {}  # running scans split into segments: how many
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancelled: set[str] = set()
        self._running: set[str] = set()
        upload_dir.mkdir(parents=True, exist_ok=True)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def reserve(self) -> None:
        """Hold one queue slot; give it back with ``release`` or turn it into a scan with ``submit``."""
        if self.pending + self.reserved >= self.max_queued:
            raise ScanQueueFull(f"{self.pending + self.reserved} scans are already queued; try again later")
        self.reserved += 1

    def release(self) -> None:
        self.reserved = max(0, self.reserved - 1)

    def active(self, scan_id: str) -> bool:
        return scan_id in self._tasks

    async def submit(self, scan_id: str, filename: str, path: Path, info: dict) -> None:
        """Start a scan (in the slot its request reserved, which the request then releases)."""
        await self.store.create_scan(scan_id, filename, str(path))
        await self.store.update_scan(scan_id, info=info)
        self._tasks[scan_id] = asyncio.create_task(self._run(scan_id, path), name=f"scan-{scan_id}")
        self.hub.publish({"type": "scan", "id": scan_id, "status": "queued", "progress": 0.0})

    async def _run(self, scan_id: str, path: Path) -> None:
        try:
            async with self._slots:
                if scan_id in self._cancelled:  # stopped while it waited its turn
                    if await self.store.scan(scan_id):
                        await self._set(scan_id, status="failed", error="interrupted by a server shutdown",
                                  finished=time.time())
                    return
                self._running.add(scan_id)
                await self._scan(scan_id, path)
        finally:
            self._running.discard(scan_id)
            self._segments.pop(scan_id, None)
            self._tasks.pop(scan_id, None)

    async def _scan(self, scan_id: str, path: Path) -> None:
        loop = asyncio.get_running_loop()
        info = (await self.store.scan(scan_id))["info"] or {}
        duration = info.get("duration") or 0.0
        last = [0.0]

        def announce(segments: int) -> None:
            self._segments[scan_id] = segments
            loop.call_soon_threadsafe(self._progress, scan_id, 0.0, 0)

        def progress(pts: float, frames: int) -> None:
            if scan_id in self._cancelled:
                raise ScanCancelled()
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            fraction = min(pts / duration, 0.999) if duration else 0.0
            self.store.sync.update_scan(scan_id, progress=fraction)  # on the scan's own thread
            loop.call_soon_threadsafe(self._progress, scan_id, fraction, frames)

        await self._set(scan_id, status="running")
        try:
            timeline = await asyncio.to_thread(self._scan_file, path, duration, progress, announce)
        except ScanCancelled:
            if await self.store.scan(scan_id):  # not deleted meanwhile
                await self._set(scan_id, status="failed", error="interrupted by a server shutdown", finished=time.time())
            return
        except MediaError as exc:
            await self._set(scan_id, status="failed", error=str(exc).replace(str(path), "the file"), finished=time.time())
            return
        except Exception as exc:  # a scan must never take the server down
            log.exception("scan %s failed", scan_id)
            await self._set(scan_id, status="failed", error=f"internal error: {type(exc).__name__}", finished=time.time())
            return
        timeline["source"] = (await self.store.scan(scan_id))["filename"]
        await self.store.update_scan(scan_id, timeline=timeline, summary=summary(timeline))
        await self._set(scan_id, status="done", progress=1.0, finished=time.time())

    def _scan_file(self, path: Path, duration: float, progress, announce) -> dict:
        if self.workers < 2:
            return scan_parallel(path, self.model, None, 1, None, progress)
        with self._pool_lock:  # scans start on threads of their own
            if self._pool is None:
                self._pool = SegmentPool(self.model.dir, self.workers)
            pool = self._pool

        def run(path, segments, progress):
            announce(len(segments))
            return pool.run(path, segments, progress)

        return scan_parallel(path, self.model, run, segment_count(duration, self.workers), None, progress)

    def _progress(self, scan_id: str, fraction: float, frames: int) -> None:
        event = {"type": "scan", "id": scan_id, "status": "running", "progress": round(fraction, 4), "frames": frames}
        if scan_id in self._segments:
            event["segments"] = self._segments[scan_id]
        self.hub.publish(event)

    async def _set(self, scan_id: str, **fields: object) -> None:
        await self.store.update_scan(scan_id, **fields)
        row = await self.store.scan(scan_id)
        self.hub.publish({"type": "scan", "id": scan_id, "status": row["status"], "progress": row["progress"],
                          "error": row["error"]})

    async def delete(self, scan_id: str) -> dict | None:
        """Stop the scan if it is queued or running, then remove its row, timeline and uploaded file.
        Returns the removed row, or None if there was no such scan."""
        task = self._tasks.get(scan_id)
        if task is not None:
            self._cancelled.add(scan_id)
            if scan_id not in self._running:
                task.cancel()  # still waiting for its turn
            await asyncio.gather(task, return_exceptions=True)
            self._cancelled.discard(scan_id)
        row = await self.store.delete_scan(scan_id)
        if row is not None:
            remove_upload(self.upload_dir, Path(row["path"]))
            self.hub.publish({"type": "scan", "id": scan_id, "status": "deleted", "progress": row["progress"]})
        return row

    async def close(self) -> None:
        """Stop every scan: running ones end at their next frame and are marked failed."""
        self._cancelled.update(self._tasks)
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None
