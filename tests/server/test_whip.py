"""WHIP ingest with a third-party client (whip.js of npm whip-whep@1.2.0) in headless Chromium, pushing a real
face clip from the fake camera to 127.0.0.1 inside a loopback-only network namespace.

Screenshots land in artifacts/server/whip-*.png.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from streamer.assets import asset_path
from tests.server.browser_session import CHROMIUM, ROOT, namespace_available, run_isolated
from tests.server.harness import write_y4m
from tests.server.whip_session import NAME, metric

from .api import api_client

ARTIFACTS = ROOT / "artifacts" / "server"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def whip_report(tmp_path_factory: pytest.TempPathFactory, random_model_dir: Path, clip) -> dict:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make apt-test`")
    if why := namespace_available():
        pytest.skip(f"no isolated loopback-only network for the browser: {why}")
    work = tmp_path_factory.mktemp("whip")
    y4m = write_y4m(clip("WolfgangLanger_Pexels.mp4"), work / "camera.y4m", seconds=6)
    out = work / "out"
    result = run_isolated(["--model", str(random_model_dir), "--y4m", str(y4m), "--whip-js",
                           str(asset_path("whip.js")), "--out", str(out)], timeout=240,
                          module="tests.server.whip_session")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in out.glob("*.png"):
        shutil.copy(shot, ARTIFACTS / shot.name)
    assert result.returncode == 0, f"WHIP session failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    return json.loads((out / "report.json").read_text())


def test_the_third_party_client_pushes_a_clip_that_is_analysed_live(whip_report: dict) -> None:
    live = whip_report["live"]
    assert live["kind"] == "whip" and live["status"] == "live" and live["frames_analysed"] >= 10
    assert live["latest"]["faces"] and 0 <= live["latest"]["faces"][0]["score"] <= 1
    assert whip_report["push"]["resource"].startswith(whip_report["server_url"] + "/whip/")
    assert whip_report["pc_state"] == "connected" and whip_report["sent_kinds"] == ["video", "audio"]
    dash = whip_report["dashboard"]
    assert dash["status"] == "live" and dash["results"] > 3


def test_the_pushed_stream_counts_in_metrics_and_delete_ends_it(whip_report: dict) -> None:
    labels = {"kind": "whip", "stream": NAME}
    assert metric(whip_report["metrics_live"], "dfs_frames_analysed_total", **labels) >= 10
    assert metric(whip_report["metrics_live"], "dfs_source_status", status="live", **labels) == 1
    assert metric(whip_report["metrics_live"], "dfs_active_streams", status="live") >= 1
    # whip.js's stop() sends DELETE on the resource: the stream is gone, its series too, the gauges back to 0.
    assert "DELETE " + whip_report["push"]["resource"] in whip_report["requests"]
    assert all(s["name"] != NAME for s in whip_report["streams_after"])
    assert metric(whip_report["metrics_after"], "dfs_frames_analysed_total", **labels) is None
    assert metric(whip_report["metrics_after"], "dfs_active_streams", status="live") == 0


def test_a_wrong_token_is_refused_and_starts_nothing(whip_report: dict) -> None:
    assert "401" in whip_report["wrong_token"]["error"]
    assert whip_report["after_wrong_token"] == []
    assert [line for line in whip_report["console"] if line.startswith("pageerror")] == []


async def test_bad_whip_requests_get_clear_errors(random_model, tmp_path) -> None:
    async with api_client(random_model, tmp_path / "data", api_token="tok") as client:
        auth = {"Authorization": "Bearer tok"}
        resp = await client.post("/whip", data="v=0\r\n", headers={"Content-Type": "application/sdp"})
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        resp = await client.post("/whip", data="{}", headers={**auth, "Content-Type": "application/json"})
        assert resp.status == 415 and "application/sdp" in (await resp.json())["error"]
        resp = await client.post("/whip", data="v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
                                 headers={**auth, "Content-Type": "application/sdp"})
        assert resp.status == 400 and "no video" in (await resp.json())["error"]
        resp = await client.post("/whip", data="x" * 70000, headers={**auth, "Content-Type": "application/sdp"})
        assert resp.status == 413
        resp = await client.delete("/whip/0123", headers=auth)
        assert resp.status == 404
        assert (await (await client.get("/api/streams")).json())["streams"] == []
