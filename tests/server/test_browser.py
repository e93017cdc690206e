"""The page in headless Chromium with a fake camera playing a real face clip, over real WebRTC.

Server and browser run in a network namespace with only loopback (``unshare --net``), so no packet can
go anywhere but 127.0.0.1. Screenshots land in artifacts/server/.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from streamer.core.faces import FaceDetector
from streamer.media.video import file_frames

from bench.browser import CHROMIUM, ROOT, namespace_available, run_isolated
from bench.harness import write_y4m

CLIP = "WolfgangLanger_Pexels.mp4"
VERDICT_RGB = {"real": (0x22, 0xB0, 0x7D), "fake": (0xEF, 0x4A, 0x5F), "uncertain": (0xE3, 0xA2, 0x1A)}
ARTIFACTS = ROOT / "artifacts" / "server"


def js_ms(value: float) -> str:
    """A latency as the page writes it: Math.round, and a real minus sign below zero."""
    rounded = math.floor(value + 0.5)
    return f"\u2212{-rounded}" if rounded < 0 else str(rounded)


def iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def browser_report(tmp_path_factory: pytest.TempPathFactory, random_model_dir: Path, clip) -> dict:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make apt-test`")
    if why := namespace_available():
        pytest.skip(f"no isolated loopback-only network for the browser: {why}")
    work = tmp_path_factory.mktemp("browser")
    y4m = write_y4m(clip(CLIP), work / "camera.y4m", seconds=4)
    out = work / "out"
    result = run_isolated("tests.server.browser_session", ["--model", str(random_model_dir), "--y4m", str(y4m),
                                                           "--out", str(out), "--connect-timeout", "5"], timeout=300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in out.glob("*.png"):
        shutil.copy(shot, ARTIFACTS / shot.name)
    assert result.returncode == 0, f"browser session failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    report = json.loads((out / "report.json").read_text())
    (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=1))
    return report


def test_page_loads_nothing_external_and_has_no_errors(browser_report: dict) -> None:
    base = browser_report["server_url"]
    assert browser_report["initial_state"] == "idle"
    assert all(url.startswith(base + "/") for url in browser_report["requests"]), browser_report["requests"]
    errors = [line for line in browser_report["console"] if line.startswith("pageerror")
              or (line.startswith("error") and "503" not in line)]
    assert not errors


def test_box_with_score_is_drawn_on_the_face(browser_report: dict, clip) -> None:
    result = browser_report["last_result"]  # as the server sent it on the data channel
    assert (result["width"], result["height"]) == (640, 360) and browser_report["drawn_source"] == "640x360"
    face = {"box": browser_report["drawn"][0]["source"]}  # the server's box of the face the page drew
    # The server's box covers the face that MediaPipe finds in the clip itself.
    with FaceDetector() as detector:
        reference = [detector.detect(f.image, f.pts)[0].box.tolist() for f in file_frames(clip(CLIP))
                     if f.pts < 4.0 and f.index % 4 == 0]
    assert max(iou(face["box"], ref) for ref in reference) > 0.6

    # The page scaled it from 640x360 to the picture on screen and mirrored it like the preview.
    pic, drawn = browser_report["picture"], browser_report["drawn"][0]
    assert (pic["videoWidth"], pic["videoHeight"]) == (640, 360)
    sx, sy = pic["w"] / 640, pic["h"] / 360
    x0, y0, x1, y1 = face["box"]
    expected = [pic["x"] + pic["w"] - x1 * sx, pic["y"] + y0 * sy, pic["x"] + pic["w"] - x0 * sx, pic["y"] + y1 * sy]
    shown = [drawn["x"], drawn["y"], drawn["x"] + drawn["w"], drawn["y"] + drawn["h"]]
    assert iou(expected, shown) > 0.8  # the drawn frame may be a result or two older
    assert drawn["label"].startswith(f"#{drawn['track_id']}  {drawn['score']:.2f}  {drawn['verdict'].upper()}")
    # The canvas really holds the box: the middle of its top edge has the verdict's colour.
    r, g, b, a = browser_report["box_edge_pixel"]
    assert a == 255 and np.allclose((r, g, b), VERDICT_RGB[drawn["verdict"]], atol=3)
    badge = browser_report["badge_text"].split()
    assert badge[0] == f"#{drawn['track_id']}" and badge[2].lower() in VERDICT_RGB
    assert 0.0 <= float(badge[1]) <= 1.0


def test_timeline_grows_and_latency_is_measured(browser_report: dict) -> None:
    before, after = browser_report["timeline_growth"]
    assert after > before > 0
    assert browser_report["sync"]["locked"]
    latencies = [glass for _, glass, _ in browser_report["latencies"]]
    to_score = [capture for _, _, capture in browser_report["latencies"]]
    assert len(latencies) >= 20
    # Below zero is possible: the score may arrive before the preview shows the frame.
    assert -100 < float(np.median(latencies)) < 500
    assert 0 < min(to_score) and float(np.median(to_score)) < 500
    # The matching is right: no frame reached the server before the page says it was captured
    # (one frame off would put a whole frame interval, 42 ms here, below zero).
    legs = [leg for _, leg in browser_report["legs"]]
    assert len(legs) == len(latencies) and min(legs) > -10
    assert browser_report["fps"] > 5
    assert "fps" in browser_report["metrics_text"] and "ms p50" in browser_report["metrics_text"]
    # The latencies were read from the page's own "last frame" readout, which shows the latest one.
    glass, capture = browser_report["latencies"][-1][1:]
    assert browser_report["last_shown"] == f"last frame {js_ms(glass)} ms, camera to score {js_ms(capture)} ms"


def test_second_visitor_sees_the_servers_503_message(browser_report: dict) -> None:
    full = browser_report["full"]
    assert "maximum" in full["banner"] and full["pill"] == "Server full"
    assert full["stats"]["sessions"]["rejected"] == 1 and full["stats"]["sessions"]["active"] == 1


def test_phone_layout_does_not_overflow(browser_report: dict) -> None:
    assert browser_report["phone_overflow"] == []  # no element sticks out of a 390 px wide screen


def test_stop_tears_the_session_down_on_the_server(browser_report: dict) -> None:
    live = browser_report["live_stats"]
    assert live["sessions"]["active"] == 1 and live["session_threads"] == 1 and live["session_tasks"] >= 2
    assert live["live"][0]["low_latency"] is True
    after = browser_report["after_stop"]
    assert after["sessions"]["active"] == 0 and after["sessions"]["closed"] == 1
    assert after["session_tasks"] == 0 and after["session_threads"] == 0 and after["peer_connections"] == 0
    assert browser_report["after_stop_page"] == {"session": None, "drawn": 0}
    assert "0." not in browser_report["after_stop_faces"]  # no last score left on show after Stop


def test_closing_the_tab_ends_the_session(browser_report: dict) -> None:
    assert browser_report["before_close"]["sessions"]["active"] == 1
    after = browser_report["after_close"]
    assert after["sessions"]["active"] == 0 and after["sessions"]["closed"] == 2
    assert after["session_tasks"] == 0 and after["session_threads"] == 0 and after["peer_connections"] == 0
    assert browser_report["close_seconds"] < 10


def test_the_page_says_so_when_ice_never_connects(browser_report: dict) -> None:
    report = browser_report["no_ice"]
    assert report["timeout"] == 5
    assert report["seconds"] < report["timeout"] + 6  # the page's own deadline, plus ICE gathering
    assert "No connection to the server within 5 s" in report["banner"] and "ICE" in report["banner"]
    assert report["pill"].strip() == "Disconnected"
    assert report["after"]["sessions"]["active"] == 0  # the server gave up on it too
