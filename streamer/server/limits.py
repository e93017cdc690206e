"""Quotas that hold under concurrency: per-client rate of changing requests, uploads in flight, free disk."""
from __future__ import annotations

import json
import shutil
import time
from collections import OrderedDict
from pathlib import Path

from aiohttp import web

from .auth import MUTATING

MAX_CLIENTS = 4096  # buckets kept; the least recently seen client is forgotten first


class RateLimiter:
    """A token bucket per client address: ``per_minute`` on average, bursts of a quarter of that (changing
    /api/ requests, and reads that start expensive work); ``per_minute`` 0: no limit."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 4)
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        tokens, seen = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return wait

    def check(self, request: web.Request, what: str) -> web.Response | None:
        """None if ``request`` may go ahead, else the 429 answer (``what``: the kind of request, for the user)."""
        wait = self.allow(request.remote or "unknown")
        if wait <= 0:
            return None
        return web.Response(status=429, content_type="application/json", headers={
            "Retry-After": str(max(1, round(wait)))}, text=json.dumps(
            {"error": f"too many {what} from this address; slow down", "status": 429}))


def rate_limit_middleware(limiter: RateLimiter):
    @web.middleware
    async def limit(request: web.Request, handler):
        # /api/ only: a WHIP sender trickles many ICE candidates at once, and its pushes are bounded by
        # --max-streams anyway
        if request.method in MUTATING and request.path.startswith("/api/"):
            refused = limiter.check(request, "changing requests")
            if refused is not None:
                return refused
        return await handler(request)

    return limit


class Full(Exception):
    """No room for one more; the message is meant for the user."""


class Slots:
    """A counter of things in flight with a hard limit, taken and given back synchronously (no await between
    the check and the increment, so concurrent requests cannot all pass the check)."""

    def __init__(self, limit: int, what: str):
        self.limit, self.what, self.used = limit, what, 0

    def take(self) -> None:
        if self.used >= self.limit:
            raise Full(f"{self.used} {self.what} are already in progress; try again later")
        self.used += 1

    def give(self) -> None:
        self.used = max(0, self.used - 1)


def free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_disk(path: Path, floor: int, more: int = 0) -> None:
    """Full unless writing ``more`` bytes under ``path`` leaves at least ``floor`` bytes free."""
    free = free_bytes(path)
    if free - more < floor:
        raise Full(f"the server is low on disk space ({free // 2**20} MB free, {floor // 2**20} MB are kept "
                   "free); delete old scans or try a smaller file")
