"""Live sessions with a Python WebRTC peer: results arrive, and every way of leaving cleans up."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import pytest

from tests.server.client import ClipTrack, Peer


async def wait_for(predicate, timeout: float = 10.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step)


def idle(server) -> dict | None:
    stats = server.get_json("/api/sessions")
    quiet = (stats["sessions"]["active"] == 0 and stats["session_tasks"] == 0 and stats["session_threads"] == 0
             and stats["peer_connections"] == 0)
    return stats if quiet else None


async def test_results_describe_the_face(server, clip) -> None:
    peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=2.0))
    async with aiohttp.ClientSession() as http:
        response = await peer.connect(http, server.url)
        assert response.status == 200
        assert await wait_for(lambda: sum(1 for r in peer.results if r["faces"]) >= 10, timeout=30)
        live = server.get_json("/api/sessions")
        assert live["sessions"]["active"] == 1 and live["session_threads"] == 1 and live["session_tasks"] >= 2
        assert live["live"][0]["low_latency"] is True  # frames leave aiortc's jitter buffer on their marker
        assert peer.answer["lowLatency"] is True
        assert peer.answer["session"] not in json.dumps(live)  # the id is the page's key to its session
        first = next(r for r in peer.results if r["faces"])
        face = first["faces"][0]
        x0, y0, x1, y1 = face["box"]
        assert 0 <= x0 < x1 <= first["width"] and 0 <= y0 < y1 <= first["height"]
        assert 0.0 <= face["score"] <= 1.0 and face["verdict"] in ("real", "fake", "uncertain")
        assert isinstance(first["rtp"], int) and first["stats"]["frames_analysed"] >= 1
        track_ids = {f["track_id"] for r in peer.results for f in r["faces"]}
        assert len(track_ids) == 1  # one face, one stable track
        pts = [r["pts"] for r in peer.results]
        assert pts == sorted(pts) and len(set(pts)) == len(pts)
        # RTP timestamps as sent: consecutive results differ by the pts difference at 90 kHz.
        a, b = peer.results[0], peer.results[-1]
        assert abs((b["rtp"] - a["rtp"]) % (1 << 32) - (b["pts"] - a["pts"]) * 90000) <= 10  # pts has 4 decimals
        # live sampling encodes every 2nd face: the first window of 8 encodes comes with the 15th frame or so
        assert await wait_for(lambda: any(f["window_score"] is not None for r in peer.results for f in r["faces"]),
                              timeout=30)
    await peer.close()
    assert await wait_for(lambda: idle(server), timeout=15)


@pytest.mark.timeout(240)
async def test_twenty_connect_disconnect_cycles_leave_nothing_behind(server, clip) -> None:
    baseline_threads = {t.name for t in threading.enumerate()}
    server_tasks = server.get_json("/api/sessions")["tasks"]
    async with aiohttp.ClientSession() as http:
        for cycle in range(20):
            peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=0.5))
            response = await peer.connect(http, server.url)
            assert response.status == 200, await response.text()
            assert await wait_for(lambda: peer.results, timeout=20), f"cycle {cycle}: no result"
            way = cycle % 4
            if way == 0:  # the page closes its peer connection
                await peer.close()
            elif way == 3:  # only the results channel closes: no one to send results to
                peer.channel.close()
                assert await wait_for(lambda: idle(server), timeout=15), f"cycle {cycle}: channel close ignored"
                await peer.close()
            elif way == 1:  # the page says goodbye on the data channel, then closes
                peer.channel.send(json.dumps({"type": "bye"}))
                assert await wait_for(lambda: idle(server), timeout=15), f"cycle {cycle}: bye ignored"
                await peer.close()
            else:  # the page's Stop button / pagehide beacon
                async with http.delete(f"{server.url}/api/sessions/{peer.answer['session']}") as closed:
                    assert closed.status == 200
                await peer.close()
            stats = await wait_for(lambda: idle(server), timeout=15)
            assert stats, f"cycle {cycle}: {server.get_json('/api/sessions')}"
        async with http.delete(f"{server.url}/api/sessions/nope") as missing:
            assert missing.status == 404
    stats = server.get_json("/api/sessions")
    assert stats["sessions"] == {"active": 0, "max": 2, "created": 20, "closed": 20, "rejected": 0, "failed": 0}
    reasons = stats["close_reasons"]
    assert reasons.get("page stopped") == 5 and reasons.get("closed by the page") == 5, reasons
    assert reasons.get("data channel closed", 0) + reasons.get("connection closed", 0) >= 5, reasons
    assert sum(reasons.values()) == 20
    assert stats["tasks"] <= server_tasks + 1  # the request being served may be one
    # What may remain: threads from before, and the event loops' default executors (aiortc's encoder,
    # a fixed-size pool) - nothing per session (aiortc's decoder threads, the analysis workers).
    leftover = lambda: {t.name for t in threading.enumerate()} - baseline_threads  # noqa: E731
    assert await wait_for(lambda: all(name.startswith("asyncio_") for name in leftover()), timeout=10), leftover()
    assert len(leftover()) <= 4


async def test_unanswered_offer_is_closed_by_the_watchdog(random_model_dir, clip) -> None:
    from streamer.core.model import Model
    from tests.server.conftest import loopback_config
    from bench.harness import ServerThread

    with ServerThread(loopback_config(connect_timeout=1.0), Model(random_model_dir)) as server:
        peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=0.2))
        async with aiohttp.ClientSession() as http:
            async with http.post(server.url + "/api/offer", json=await peer.offer()) as response:
                assert response.status == 200  # ...but the answer is never applied
        assert server.get_json("/api/sessions")["sessions"]["active"] == 1
        assert await wait_for(lambda: idle(server), timeout=10)
        await peer.close()


async def test_ice_failure_ends_the_session(server, clip, monkeypatch) -> None:
    """The browser vanishes without a word (network gone): ICE consent expires and the session ends."""
    import aioice.ice

    # RFC 7675 consent checks every 5 s, 6 misses: far too slow for a test, same code path when faster.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 2)
    peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=0.5))
    async with aiohttp.ClientSession() as http:
        assert (await peer.connect(http, server.url)).status == 200
        assert await wait_for(lambda: peer.results, timeout=20)
    # Pull the plug: close the client's UDP sockets without any DTLS/SCTP goodbye.
    connection = peer.pc.sctp.transport.transport._connection
    for protocol in connection._protocols:
        protocol.transport.close()
    stats = await wait_for(lambda: idle(server), timeout=20)
    assert stats and stats["sessions"]["closed"] == 1
    # aiortc reports the expired ICE connection as failed or closed, depending on which transport notices first.
    assert list(stats["close_reasons"]) in (["connection failed"], ["connection closed"])
    await peer.close()


async def test_the_answer_says_when_the_low_latency_path_is_unavailable(server, clip, monkeypatch) -> None:
    from streamer.live import aiortc_compat

    monkeypatch.setattr(aiortc_compat, "install_marker_jitter_buffer", lambda receiver: False)
    peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=1.0))
    async with aiohttp.ClientSession() as http:
        assert (await peer.connect(http, server.url)).status == 200
        assert peer.answer["lowLatency"] is False
        assert await wait_for(lambda: len(peer.results) >= 3, timeout=30)  # aiortc's own buffer still works
        assert server.get_json("/api/sessions")["live"][0]["low_latency"] is False
    await peer.close()
    assert await wait_for(lambda: idle(server), timeout=15)
