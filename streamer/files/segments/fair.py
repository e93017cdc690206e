"""A fair queue of segments between scans: the next worker goes to the scan with the fewest segments running."""
from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    """Items of many jobs. ``pop`` takes the oldest item of the job with the fewest items running (ties: the
    job queued first), so a long scan never holds a later one back by more than one segment's time.
    ``done`` says one of a job's items has finished. Not thread-safe: the caller holds its lock."""

    def __init__(self) -> None:
        self._waiting: dict[int, deque[T]] = {}  # in order of arrival
        self._running: dict[int, int] = {}

    def put(self, job: int, items: list[T]) -> None:
        self._waiting.setdefault(job, deque()).extend(items)

    def pop(self) -> tuple[int, T] | None:
        if not self._waiting:
            return None
        job = min(self._waiting, key=lambda j: self._running.get(j, 0))  # min keeps the first of equals
        items = self._waiting[job]
        item = items.popleft()
        if not items:
            del self._waiting[job]
        self._running[job] = self._running.get(job, 0) + 1
        return job, item

    def done(self, job: int) -> None:
        left = self._running.get(job, 0) - 1
        if left > 0:
            self._running[job] = left
        else:
            self._running.pop(job, None)

    def drop(self, job: int) -> list[T]:
        """Take a job's waiting items out (it was called off); returns them."""
        return list(self._waiting.pop(job, ()))

    def __len__(self) -> int:
        return sum(len(items) for items in self._waiting.values())
