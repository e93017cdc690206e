"""/metrics scraped during a live WebRTC session."""
from __future__ import annotations

import re
import urllib.request

import aiohttp

from tests.server.client import ClipTrack, Peer
from tests.server.test_sessions import wait_for


def scrape(server) -> str:
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def value(text: str, pattern: str) -> float:
    match = re.search(rf"^{pattern} ([0-9.e+]+)$", text, re.M)
    assert match, f"{pattern} not in /metrics"
    return float(match.group(1))


async def test_metrics_show_frames_and_latency_during_a_live_session(server, clip) -> None:
    before = scrape(server)
    webrtc_count = r'dfs_analysis_latency_seconds_count\{source="webrtc"\}'
    start_count = value(before, webrtc_count) if re.search(webrtc_count, before) else 0.0
    peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=2.0))
    async with aiohttp.ClientSession() as http:
        assert (await peer.connect(http, server.url)).status == 200
        assert await wait_for(lambda: len(peer.results) >= 10, timeout=30)
        text = scrape(server)
        await peer.close()
    sid = peer.answer["session"][:4]  # metrics, like /api/sessions, show only an id prefix
    assert value(text, "dfs_active_sessions") == 1
    assert value(text, rf'dfs_frames_in_total\{{kind="webrtc",stream="{sid}"\}}') >= 10
    assert value(text, rf'dfs_frames_analysed_total\{{kind="webrtc",stream="{sid}"\}}') >= 10
    assert value(text, webrtc_count) - start_count >= 10
    assert value(text, r'dfs_analysis_latency_seconds_bucket\{le="1.0",source="webrtc"\}') >= 10
    assert value(text, r'dfs_inference_batch_size_count\{kind="encode"\}') >= 1
