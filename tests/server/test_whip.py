"""WHIP ingest: a third-party client pushes a real clip; and every bad request gets a clear refusal."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from aiortc import RTCPeerConnection

from bench.browser import CHROMIUM, ROOT, namespace_available, run_isolated
from bench.harness import ServerThread, write_y4m
from tests.server.client import ClipTrack
from tests.server.conftest import loopback_config

ARTIFACTS = ROOT / "artifacts" / "server"


def metric(text: str, pattern: str) -> float | None:
    match = re.search(rf"^{pattern} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture(scope="module")
def whip_report(tmp_path_factory, random_model_dir: Path, clip) -> dict:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make apt-test`")
    if why := namespace_available():
        pytest.skip(f"no isolated loopback-only network for the browser: {why}")
    work = tmp_path_factory.mktemp("whip")
    y4m = write_y4m(clip("WolfgangLanger_Pexels.mp4"), work / "camera.y4m", seconds=6)
    out = work / "out"
    result = run_isolated("tests.server.whip_session", ["--model", str(random_model_dir), "--y4m", str(y4m),
                                                        "--out", str(out)], timeout=240)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in out.glob("*.png"):
        shutil.copy(shot, ARTIFACTS / shot.name)
    assert result.returncode == 0, f"WHIP session failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    return json.loads((out / "report.json").read_text())


def test_a_third_party_whip_client_pushes_a_clip_that_is_analysed_like_a_camera(whip_report: dict) -> None:
    assert whip_report["client_state"] == "published"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/whip/[\w-]+", whip_report["resource"])
    stream = whip_report["stream"]
    assert stream["kind"] == "whip" and stream["status"] == "live" and stream["fps"] == 10
    assert stream["frames_analysed"] >= 10 and stream["latest"]["faces"]
    assert 0 < stream["frames_analysed"] <= stream["frames_in"]  # at most 10 fps of the clip's 24
    text = whip_report["metrics_live"]
    assert metric(text, r'dfs_frames_analysed_total\{kind="whip",stream="obs-studio"\}') >= 10
    assert metric(text, r'dfs_source_status\{kind="whip",status="live",stream="obs-studio"\}') == 1
    assert metric(text, r'dfs_active_streams\{status="live"\}') == 1
    dash = whip_report["dashboard"]
    assert dash["status"] == "live" and dash["frames_analysed"] >= 5 and dash["faces"]
    assert not [line for line in whip_report["console"] if line.startswith(("pageerror", "error"))]


def test_delete_ends_the_push_and_its_counters_go(whip_report: dict) -> None:
    assert whip_report["after_delete"] == {}
    text = whip_report["metrics_after"]
    assert metric(text, r'dfs_active_streams\{status="live"\}') == 0
    assert 'kind="whip"' not in text.split("# HELP dfs_analysis_errors")[0]


@pytest.fixture
def token_server(random_model_dir):
    from streamer.core.model import Model

    with ServerThread(loopback_config(api_token="push-secret"), Model(random_model_dir)) as running:
        yield running


async def real_offer(clip) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTransceiver(ClipTrack(clip("single_face.mp4"), seconds=1.0), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_whip_needs_the_token_and_refuses_what_is_not_an_offer(token_server, clip) -> None:
    url = token_server.url + "/whip"
    auth = {"Authorization": "Bearer push-secret", "Content-Type": "application/sdp"}
    pc, sdp = await real_offer(clip)
    async with aiohttp.ClientSession() as http:
        async def post(body, headers, query=""):
            async with http.post(url + query, data=body, headers=headers) as resp:
                return resp.status, await resp.text(), resp.headers

        status, _, _ = await post(sdp, {"Content-Type": "application/sdp"})
        assert status == 401
        status, body, _ = await post(sdp, {**auth, "Content-Type": "application/json"})
        assert status == 415 and "application/sdp" in json.loads(body)["error"]
        status, body, _ = await post("hello", auth)
        assert status == 400 and "v=0" in json.loads(body)["error"]
        no_video = "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith("m=video"))
        assert (await post(no_video.replace("m=video", ""), auth))[0] == 400
        for query, words in (("?fps=abc", "'fps' must be a number"), ("?fps=1000", "between"),
                             ("?name=%00bad", "'name'"), ("?colour=red", "unknown query parameters")):
            status, body, _ = await post(sdp, auth, query)
            assert status == 400 and words in json.loads(body)["error"], (query, body)
        status, answer, headers = await post(sdp, auth, "?name=door%20push")
        assert status == 201 and answer.startswith("v=0") and headers["Content-Type"].startswith("application/sdp")
        location = headers["Location"]
        assert re.fullmatch(r"/whip/[\w-]+", location) and headers["X-Stream-Name"] == "door push"
        assert (await post(sdp, auth, "?name=DOOR  push"))[0] == 409  # the same name, case and spaces aside
        async with http.post(token_server.url + "/api/streams/door%20push/restart", headers=auth) as resp:
            assert resp.status == 409 and "WHIP" in (await resp.json())["error"]  # only its sender can restart it
        async with http.get(token_server.url + "/api/streams", headers=auth) as resp:
            assert [s["name"] for s in (await resp.json())["streams"]] == ["door push"]
        frag = {"Content-Type": "application/trickle-ice-sdpfrag", "Authorization": auth["Authorization"]}
        for garbage in ("a=candidate:garbage\r\n", "a=candidate:1 1 udp x 1.2.3.4 5 typ host\r\n"):
            async with http.patch(token_server.url + location, data=garbage, headers=frag) as resp:
                assert resp.status == 400 and "candidate" in (await resp.json())["error"], garbage
        async with http.patch(token_server.url + location, data="a=end-of-candidates\r\n", headers=frag) as resp:
            assert resp.status == 204
        async with http.patch(token_server.url + "/whip/nope", data="", headers=frag) as resp:
            assert resp.status == 404
        async with http.delete(token_server.url + location) as resp:
            assert resp.status == 401
        async with http.delete(token_server.url + location, headers=auth) as resp:
            assert resp.status == 200 and (await resp.json())["deleted"] == "door push"
        async with http.delete(token_server.url + location, headers=auth) as resp:
            assert resp.status == 200  # again: senders may DELETE after their connection closed
        async with http.delete(token_server.url + "/whip/never-was", headers=auth) as resp:
            assert resp.status == 404
        async with http.get(token_server.url + "/api/streams", headers=auth) as resp:
            assert (await resp.json())["streams"] == []
    await pc.close()
