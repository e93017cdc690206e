"""Floods beyond the limits, corrupted media and a stalling source: clear errors, nothing lost."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from streamer.live.supervisor import StreamConfig, StreamSupervisor
from streamer.live.status import Status

from tests.loopback import wait_for
from tests.server.client import ClipTrack, Peer

from .conftest import assert_intact


def multipart(data: bytes, name: str = "clip.mp4") -> tuple[bytes, dict]:
    boundary = "dfsboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_a_flood_of_offers_beyond_the_session_limit_gets_503(server, client, clip):
    async def flood():
        peers = [Peer(ClipTrack(clip("single_face.mp4"), seconds=0.5)) for _ in range(8)]
        async with aiohttp.ClientSession() as http:
            responses = await asyncio.gather(*(p.connect(http, server.url) for p in peers))
            statuses = [r.status for r in responses]
            bodies = [await r.json() for r in responses]
            await asyncio.gather(*(p.close() for p in peers))
        return statuses, bodies

    statuses, bodies = asyncio.run(flood())
    assert statuses.count(200) == 2 and statuses.count(503) == 6
    assert all("session" in b["error"].lower() for s, b in zip(statuses, bodies) if s == 503)
    deadline = time.monotonic() + 20
    while json.loads(client.request("GET", "/api/sessions")[1])["sessions"]["active"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert json.loads(client.request("GET", "/api/sessions")[1])["sessions"]["active"] == 0
    assert_intact(client)


def test_a_flood_of_uploads_gets_413_and_429(client, clip):
    big = multipart(b"\0" * 3_500_000)
    video = clip("single_face.mp4").read_bytes()

    def upload(body_headers):
        return client.request("POST", "/api/scans", *body_headers)

    with ThreadPoolExecutor(4) as pool:
        too_big = list(pool.map(upload, [big] * 6))
    assert {s for s, _ in too_big} == {413}
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(upload, [multipart(video)] * 24))
    statuses = [s for s, _ in results]
    assert set(statuses) <= {202, 429} and statuses.count(202) >= 1
    assert statuses.count(202) <= 16  # the queue's slots are reserved when an upload starts
    for status, body in results:
        if status == 429:
            assert "queued" in json.loads(body)["error"] or "uploads" in json.loads(body)["error"]
    deadline = time.monotonic() + 120
    while any(s["status"] in ("queued", "running")
              for s in json.loads(client.request("GET", "/api/scans")[1])["scans"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert_intact(client)


def test_corrupted_media_mid_file_fails_or_finishes_cleanly(client, clip, tmp_path):
    data = bytearray(clip("WolfgangLanger_Pexels.mp4").read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 200_000, 997):
        data[offset:offset + 64] = os.urandom(64)
    status, body = client.request("POST", "/api/scans", *multipart(bytes(data), "corrupt.mp4"))
    assert status == 202
    scan_id = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        scan = json.loads(client.request("GET", f"/api/scans/{scan_id}")[1])
        if scan["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert scan["status"] in ("done", "failed")
    if scan["status"] == "failed":
        assert scan["error"] and "internal error" not in scan["error"]
    else:
        assert len(scan["timeline"]["frames"]) > 100
    assert_intact(client)


async def test_a_stalling_rtsp_source_is_detected_and_recovers(rtsp_server, random_model):
    events = []
    cfg = StreamConfig("cam", rtsp_server.url, fps=10, stall_seconds=1.5, connect_timeout=3, backoff_initial=0.2,
                       backoff_max=1.0, max_failures=20)
    sup = StreamSupervisor(cfg, random_model, lambda e: events.append(e.to_dict()))
    sup.start()
    try:
        await wait_for(lambda: sup.status == Status.LIVE and sup.stats.frames_analysed > 5, timeout=20)
        os.kill(rtsp_server.proc.pid, signal.SIGSTOP)  # the source freezes: no packets, socket open
        try:
            await wait_for(lambda: sup.status != Status.LIVE, timeout=10)
        finally:
            os.kill(rtsp_server.proc.pid, signal.SIGCONT)
        before = sup.stats.frames_analysed
        await wait_for(lambda: sup.status == Status.LIVE and sup.stats.frames_analysed > before + 5, timeout=20)
    finally:
        await sup.stop()
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert Status.STALLED in statuses and "reconnecting" in statuses
    stalled = next(e for e in events if e.get("status") == Status.STALLED)
    assert "stalled" in stalled["error"] or "no data" in stalled["error"] or stalled["error"]
