"""An analysis that raises mid-stream: the source leaves ``live`` with the reason, an event and the metrics say so,
and once the fault clears the stream scores again (RTSP camera and webcam session alike)."""
from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest

from tests.faults.faulty_model import FaultyModel
from tests.loopback import wait_for
from tests.server.api import api_client, read_events
from tests.server.client import ClipTrack, Peer
from tests.server.conftest import loopback_config
from bench.harness import ServerThread
from tests.server.test_metrics import scrape


class Episode:
    """Watches status/result events of one source: degraded (with a reason), then live, then a new result."""

    def __init__(self, stream: str | None = None):
        self.stream = stream
        self.degraded: dict | None = None
        self.recovered = False
        self.results_after = 0

    def __call__(self, event: dict) -> bool:
        if self.stream is not None and event.get("stream") != self.stream:
            return False
        if event["type"] == "status" and event["status"] == "degraded" and self.degraded is None:
            self.degraded = event
        elif event["type"] == "status" and event["status"] == "live" and self.degraded:
            self.recovered = True
        elif event["type"] == "result" and self.recovered:
            self.results_after += 1
        return self.results_after >= 3 or (self.recovered and self.stream is None)


def metric(text: str, pattern: str) -> float:
    match = re.search(rf"^{pattern} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.mark.timeout(120)
async def test_rtsp_stream_degrades_with_the_reason_and_scores_again(random_model_dir, rtsp_server, tmp_path):
    model = FaultyModel(random_model_dir, fail_on=20, failures=30)
    async with api_client(model, tmp_path / "data") as client:
        model.arm()
        episode = Episode("door")
        watch = asyncio.create_task(read_events(client, "/api/events", episode, timeout=90))
        await asyncio.sleep(0.2)  # subscribed before the stream starts
        resp = await client.post("/api/streams", json={"name": "door", "url": rtsp_server.url, "fps": 10})
        assert resp.status == 201, await resp.text()
        seen_degraded = {}

        async def scrape() -> bool:
            text = await (await client.get("/metrics")).text()
            if metric(text, r'dfs_source_status\{kind="rtsp",status="degraded",stream="door"\}') == 1:
                seen_degraded["metrics"] = text
            streams = (await (await client.get("/api/streams")).json())["streams"]
            if streams[0]["status"] == "degraded":
                seen_degraded["api"] = streams[0]
            return watch.done()

        for _ in range(900):
            if await scrape():
                break
            await asyncio.sleep(0.1)
        await watch
        final = (await (await client.get("/api/streams")).json())["streams"][0]
        text = await (await client.get("/metrics")).text()
    assert episode.degraded and "InjectedFault" in episode.degraded["error"] and episode.degraded["kind"] == "rtsp"
    assert episode.recovered and episode.results_after >= 3
    assert "metrics" in seen_degraded and "api" in seen_degraded
    assert "injected encoder fault" in seen_degraded["api"]["error"]
    assert final["status"] == "live" and final["error"] is None
    assert final["frames_failed"] == model.raised == 30
    assert metric(text, r'dfs_frames_failed_total\{kind="rtsp",stream="door"\}') == 30
    assert metric(text, r'dfs_analysis_errors_total\{kind="rtsp"\}') >= 30
    assert final["frames_analysed"] > 20


@pytest.mark.timeout(120)
async def test_webcam_session_degrades_with_the_reason_and_scores_again(random_model_dir, clip):
    model = FaultyModel(random_model_dir, fail_on=20, failures=15)
    with ServerThread(loopback_config(), model) as server:
        model.arm()
        peer = Peer(ClipTrack(clip("single_face.mp4"), seconds=30.0))
        episode = Episode()
        seen = {}
        async with aiohttp.ClientSession() as http:
            async def sse() -> None:
                async with http.get(server.url + "/api/events") as resp:
                    async for raw in resp.content:
                        line = raw.decode().strip()
                        if line.startswith("data: ") and episode(json.loads(line[6:])):
                            return

            watch = asyncio.create_task(asyncio.wait_for(sse(), 90))
            await asyncio.sleep(0.2)
            assert (await peer.connect(http, server.url)).status == 200
            for _ in range(900):
                live = server.get_json("/api/sessions")["live"]
                if live and live[0]["status"] == "degraded":
                    seen["api"] = live[0]
                if watch.done() and any(s["status"] == "live" for s in peer.statuses[1:]):
                    break
                await asyncio.sleep(0.1)
            await watch
            results_before = len(peer.results)
            assert await wait_for(lambda: len(peer.results) > results_before + 3, timeout=20) >= 0
            sessions = server.get_json("/api/sessions")["live"][0]
            text = scrape(server)
            await peer.close()
    page = [s["status"] for s in peer.statuses]
    assert "degraded" in page and page[page.index("degraded"):].count("live") >= 1
    reason = next(s["error"] for s in peer.statuses if s["status"] == "degraded")
    assert "InjectedFault" in reason
    assert episode.degraded["kind"] == "webrtc" and episode.recovered
    assert "api" in seen and "injected encoder fault" in seen["api"]["error"]
    assert sessions["status"] == "live" and sessions["frames_failed"] == model.raised == 15
    sid = sessions["id"]
    assert metric(text, rf'dfs_frames_failed_total\{{kind="webrtc",stream="{sid}"\}}') == 15

