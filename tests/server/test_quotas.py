"""Quotas that hold under concurrency, against a real server: the scan queue, uploads in flight, free disk,
and the per-client rate of changing requests."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from streamer.server.limits import RateLimiter

from .api import api_client

BOUNDARY = "dfsboundary"


def slow_body(video: bytes, filename: str = "clip.mp4", pause: float = 1.0):
    """A multipart body whose file arrives after ``pause`` seconds, so that many uploads overlap."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()

    async def chunks():
        yield head + video[:1000]
        await asyncio.sleep(pause)
        yield video[1000:]
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    return chunks()


async def post_slow(client, video: bytes, pause: float = 1.0):
    resp = await client.post("/api/scans", data=slow_body(video, pause=pause),
                             headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    return resp.status, await resp.json()


async def test_24_concurrent_uploads_into_a_16_slot_queue(random_model, clip, tmp_path):
    video = Path(clip("single_face.mp4")).read_bytes()
    async with api_client(random_model, tmp_path / "data", max_queued_scans=16, max_uploads=24,
                          mutations_per_minute=0) as client:
        answers = await asyncio.gather(*(post_slow(client, video) for _ in range(24)))
        statuses = sorted(status for status, _ in answers)
        assert statuses.count(202) == 16 and statuses.count(429) == 8, statuses
        assert all("queued" in body["error"] for status, body in answers if status == 429)
        # refused uploads leave nothing behind
        uploads = {p.name for p in (tmp_path / "data" / "uploads").iterdir()}
        assert uploads == {body["id"] for status, body in answers if status == 202}


async def test_uploads_in_flight_are_limited(random_model, clip, tmp_path):
    video = Path(clip("single_face.mp4")).read_bytes()
    async with api_client(random_model, tmp_path / "data", max_uploads=2, mutations_per_minute=0) as client:
        answers = await asyncio.gather(*(post_slow(client, video) for _ in range(5)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [202, 202, 429, 429, 429], statuses
        assert all("uploads" in body["error"] for status, body in answers if status == 429)
        # the slots come back: one more upload now goes through
        assert (await post_slow(client, video, pause=0))[0] == 202


async def test_uploads_that_would_fill_the_disk_get_507(random_model, clip, tmp_path):
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    video = Path(clip("single_face.mp4")).read_bytes()
    async with api_client(random_model, tmp_path / "data", min_free_bytes=free + 2**40) as client:
        form = aiohttp.FormData()
        form.add_field("file", video, filename="clip.mp4")
        resp = await client.post("/api/scans", data=form)
        assert resp.status == 507
        assert "disk" in (await resp.json())["error"]
        assert list((tmp_path / "data" / "uploads").iterdir()) == []
        assert (await client.get("/healthz")).status == 200


async def test_changing_requests_are_rate_limited_per_client(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", mutations_per_minute=8) as client:
        statuses = [(await client.delete("/api/streams/none")).status for _ in range(5)]
        assert statuses[:2] == [404, 404] and 429 in statuses
        limited = await client.delete("/api/streams/none")
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "slow down" in (await limited.json())["error"]
        assert (await client.get("/api/streams")).status == 200  # reads are not limited


def test_rate_limiter_refills_and_keeps_clients_apart():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # 1 a second, bursts of 15
    assert all(limiter.allow("a") == 0 for _ in range(15))
    assert limiter.allow("a") > 0 and limiter.allow("b") == 0
    now[0] += 2.0
    assert limiter.allow("a") == 0
