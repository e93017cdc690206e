"""Many files at once (a folder, an archive): the inputs, one progress total, results as they finish."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..sources import MediaError

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg", ".mpeg",
                            ".flv", ".wmv", ".3gp", ".ogv"})
ScanOne = Callable[[Path, Callable[[float, int], None]], dict]  # (path, progress) -> timeline


@dataclass
class FileScan:
    path: Path
    timeline: dict | None = None
    error: str | None = None


def video_files(inputs: list[str | Path]) -> list[Path]:
    """Files as given, and the video files (by suffix) under each directory, sorted; MediaError if none."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend(sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES))
        else:
            found.append(item)  # a named file is scanned whatever its name (and fails clearly if not a video)
    if not found:
        raise MediaError(f"no video files in {', '.join(map(str, inputs))}")
    return list(dict.fromkeys(found))


class Totals:
    """Seconds and frames done over every file, from each file's own progress calls (thread-safe)."""

    def __init__(self, report: Callable[[float, int], None] | None):
        self._report, self._lock, self._done = report, threading.Lock(), {}

    def for_file(self, path: Path) -> Callable[[float, int], None]:
        def progress(seconds: float, frames: int) -> None:
            with self._lock:
                self._done[path] = (seconds, frames)
                if self._report:  # under the lock: progress bars are not thread-safe
                    self._report(sum(s for s, _ in self._done.values()), sum(n for _, n in self._done.values()))
        return progress


def scan_files(paths: list[Path], scan_one: ScanOne, concurrency: int,
               progress: Callable[[float, int], None] | None = None) -> Iterator[FileScan]:
    """Scan every file, ``concurrency`` at a time; yields each as it finishes (errors per file, not raised)."""
    totals = Totals(progress)

    def one(path: Path) -> FileScan:
        try:
            return FileScan(path, scan_one(path, totals.for_file(path)))
        except MediaError as exc:
            return FileScan(path, error=str(exc))

    with ThreadPoolExecutor(max(1, min(concurrency, len(paths))), thread_name_prefix="dfs-scan") as pool:
        for future in as_completed([pool.submit(one, p) for p in paths]):
            yield future.result()
