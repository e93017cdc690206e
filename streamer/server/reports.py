"""Scan reports, built once per scan (one build at a time, its progress known) and kept until the scan changes."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..files.report import render
from .events import CLOSED, EventHub

log = logging.getLogger(__name__)
MAX_CACHED_BYTES = 64 * 1024 * 1024  # least recently read reports go first


def stamp(row: dict) -> tuple:
    """What a scan's report depends on: a rescan or a retry finishes again, with a new time."""
    return row["status"], row["finished"]


@dataclass
class Build:
    version: tuple
    progress: float = 0.0  # 0..1
    stage: str = "waiting for another report to finish"
    task: asyncio.Task = field(init=False)


class Reports:
    """Pages by scan id with the ``stamp`` they were built for (at most ``max_bytes`` in all), and the builds
    going on. Call on the event loop."""

    def __init__(self, model_dir: Path | None, max_bytes: int = MAX_CACHED_BYTES):
        self.model_dir, self.max_bytes = model_dir, max_bytes
        self._pages: OrderedDict[str, tuple[tuple, str]] = OrderedDict()
        self._bytes = 0
        self._builds: dict[str, Build] = {}
        self._one_at_a_time = asyncio.Semaphore(1)  # a long report takes a core for tens of seconds

    def cached(self, row: dict) -> str | None:
        entry = self._pages.get(row["id"])
        if entry is None or entry[0] != stamp(row):
            return None
        self._pages.move_to_end(row["id"])
        return entry[1]

    def building(self, row: dict) -> Build | None:
        build = self._builds.get(row["id"])
        return build if build is not None and build.version == stamp(row) else None

    def build(self, row: dict) -> Build:
        """Start building ``row``'s report (call when neither ``cached`` nor ``building`` has it)."""
        build = Build(stamp(row))
        build.task = asyncio.create_task(self._build(row, build), name=f"report-{row['id']}")
        self._builds[row["id"]] = build
        return build

    async def _build(self, row: dict, build: Build) -> str:
        try:
            async with self._one_at_a_time:
                build.stage = "reading the file"
                loop = asyncio.get_running_loop()

                def progress(fraction: float, stage: str) -> None:
                    loop.call_soon_threadsafe(_set, build, fraction, stage)

                page = await asyncio.to_thread(render, [(row["timeline"], Path(row["path"]), row["filename"])],
                                               self.model_dir, progress)
        finally:
            if self._builds.get(row["id"]) is build:
                del self._builds[row["id"]]
        if build.version == stamp(row):  # the scan did not change meanwhile
            self._keep(row["id"], build.version, page)
        return page

    def _keep(self, scan_id: str, version: tuple, page: str) -> None:
        self.drop(scan_id)
        self._pages[scan_id] = (version, page)
        self._bytes += len(page)
        while self._bytes > self.max_bytes and len(self._pages) > 1:
            _, (_, old) = self._pages.popitem(last=False)
            self._bytes -= len(old)

    def drop(self, scan_id: str) -> None:
        entry = self._pages.pop(scan_id, None)
        if entry is not None:
            self._bytes -= len(entry[1])

    async def close(self) -> None:
        """Stop waiting for the builds under way (a build already on its thread runs to its end)."""
        tasks = [b.task for b in self._builds.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def follow(self, hub: EventHub) -> None:
        """Forget a scan's report when the scan changes (queued again, running, failed, deleted)."""
        queue = hub.subscribe()
        try:
            while (event := await queue.get()) is not CLOSED:
                if event.get("type") == "scan" and event.get("status") != "done":
                    self.drop(event["id"])
                    build = self._builds.pop(event["id"], None)
                    if build is not None:
                        build.version = ("changed",)  # its page is not kept
        finally:
            hub.unsubscribe(queue)


def _set(build: Build, fraction: float, stage: str) -> None:
    build.progress, build.stage = fraction, stage
