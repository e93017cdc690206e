"""The replay page in headless Chromium: upload a real clip through the page, choose the scan, seek, and check
that the boxes drawn over the video are the timeline's boxes for the frame on screen.

Screenshots land in artifacts/server/replay-*.png.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from streamer.core.model import Model

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page, overflow, screenshot

CLIP = "WolfgangLanger_Pexels.mp4"
VERDICT_RGB = {"real": (0x22, 0xB0, 0x7D), "fake": (0xEF, 0x4A, 0x5F), "uncertain": (0xE3, 0xA2, 0x1A)}
pytestmark = pytest.mark.timeout(120)


def frame_at(timeline: dict, t: float) -> dict:
    """The timeline frame with the largest pts <= t, as the page picks it."""
    pts = np.array([f["pts"] for f in timeline["frames"]])
    return timeline["frames"][int(np.searchsorted(pts, t + 1e-3, side="right")) - 1]


def moving_times(timeline: dict) -> tuple[float, float]:
    """Two moments, a few seconds apart, where the face is furthest apart in the picture."""
    with_face = [f for f in timeline["frames"] if len(f["faces"]) == 1 and 1.0 < f["pts"] < 18.0]
    best, pair = -1.0, None
    for a in with_face[::12]:
        for b in with_face[::12]:
            if b["pts"] - a["pts"] < 3:
                continue
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["faces"][0]["box"], b["faces"][0]["box"]
            d = np.hypot((ax0 + ax1 - bx0 - bx1) / 2, (ay0 + ay1 - by0 - by1) / 2)
            if d > best:
                best, pair = d, (a["pts"], b["pts"])
    assert pair and best > 30, best
    # Land mid-frame, as a user's seek does, not exactly on a frame's timestamp.
    return pair[0] + 0.02, pair[1] + 0.02


def expected_box(timeline: dict, t: float, picture: dict) -> list[float]:
    x0, y0, x1, y1 = frame_at(timeline, t)["faces"][0]["box"]
    sx, sy = picture["w"] / timeline["video"]["width"], picture["h"] / timeline["video"]["height"]
    return [picture["x"] + x0 * sx, picture["y"] + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy]


def wait_drawn_at(page, t: float) -> dict:
    """After a seek: wait until the video settled and the page drew the frame at t; returns the probe."""
    page.wait_for_function("""(t) => {
        const v = document.getElementById('video'), p = replayState();
        return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - t) < 0.06
            && Math.abs(p.currentTime - v.currentTime) < 0.09 && p.drawnBoxes.length > 0;
    }""", arg=t, timeout=15000)
    page.wait_for_timeout(150)  # let a late frame callback land, then read one consistent state
    return page.evaluate("""() => ({...replayState(), videoTime: document.getElementById('video').currentTime})""")


def edge_pixel(page, box: dict) -> list[int]:
    return page.evaluate("""(b) => {
        const c = document.getElementById('overlay'), dpr = c.width / c.clientWidth;
        return Array.from(c.getContext('2d').getImageData(Math.round((b.x + b.w / 2) * dpr),
                          Math.round(b.y * dpr), 1, 1).data);
    }""", box)


def test_replay_page_upload_choose_seek_and_export(random_model_dir: Path, clip, tmp_path: Path) -> None:
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        base = server.url
        log = PageLog(base)
        page = open_page(browser, base, "/replay", log)
        page.wait_for_selector("#scans .empty")

        # A file dropped on the zone is uploaded; one that is no video gets the server's own message.
        page.evaluate("""() => {
            const dt = new DataTransfer();
            dt.items.add(new File(['not a video at all'], 'notes.mp4', {type: 'video/mp4'}));
            document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""")
        page.wait_for_selector("#upload-error:not([hidden])", timeout=15000)
        dropped = page.inner_text("#upload-error")
        assert "notes.mp4" in dropped and page.evaluate("replayState().upload.phase") == "failed", dropped

        # Upload through the file picker; the bar follows the upload, then the scan's SSE progress.
        page.set_input_files("#file", str(clip(CLIP)))
        phases: list[str] = []
        page.wait_for_function("() => replayState().upload && replayState().upload.id", timeout=15000)
        page.wait_for_function("() => document.getElementById('upload-state').textContent.startsWith('Analysing')",
                               timeout=20000)
        phases.append(page.inner_text("#upload-state"))
        screenshot(page, "replay-scanning.png")
        page.wait_for_function("() => replayState().upload.phase === 'done' && replayState().ready",
                               timeout=40000)
        scan_id = page.evaluate("replayState().upload.id")
        assert page.inner_text("#upload-pct") == "100%"
        assert phases[0].startswith("Analysing")

        # A clip cut short passes the upload's probe but fails the scan: the page says why, so does the list.
        cut = tmp_path / "cut.mp4"
        cut.write_bytes(clip(CLIP).read_bytes()[:400_000])
        page.set_input_files("#file", str(cut))
        page.wait_for_function("() => replayState().upload.phase === 'failed'", timeout=30000)
        assert "Truncated" in page.inner_text("#upload-error")
        failed = page.locator(".scan[data-status='failed']")
        failed.wait_for()
        assert "cut.mp4" in failed.inner_text() and "Truncated" in failed.locator(".scan-error").inner_text()

        # A fresh visit: the list shows the scan with its verdict; choosing it loads video and timeline.
        page.goto(base + "/replay")
        item = page.locator(f".scan[data-id='{scan_id}']")
        item.wait_for()
        page.wait_for_function(f"""() => !['done', ''].includes(
            document.querySelector(".scan[data-id='{scan_id}'] .tag").textContent)""", timeout=10000)
        with urllib.request.urlopen(f"{base}/api/scans/{scan_id}", timeout=10) as resp:
            scan = json.loads(resp.read())
        timeline = scan["timeline"]
        verdict = {t["verdict"] for t in timeline["tracks"]}
        assert item.locator(".tag").inner_text().lower() in verdict
        item.click()
        page.wait_for_function(f"() => replayState().scanId === '{scan_id}' && replayState().ready",
                               timeout=15000)
        assert page.inner_text("#title") == scan["filename"] == CLIP

        t1, t2 = moving_times(timeline)
        page.evaluate("(t) => { document.getElementById('video').currentTime = t; }", t1)
        first = wait_drawn_at(page, t1)
        # The second seek goes through the plot: a click at t2's x position.
        area = first["plotArea"]
        duration = max(timeline["video"]["duration"], timeline["frames"][-1]["pts"])
        page.click("#plot", position={"x": area["x"] + t2 / duration * area["w"], "y": area["y"] + area["h"] / 2})
        page.wait_for_function("(t) => Math.abs(document.getElementById('video').currentTime - t) < 0.2",
                               arg=t2, timeout=10000)
        t2 = page.evaluate("document.getElementById('video').currentTime")
        second = wait_drawn_at(page, t2)
        page.wait_for_function("() => document.getElementById('video').readyState >= 3", timeout=10000)
        page.wait_for_timeout(400)  # Chrome's loading spinner fades out
        screenshot(page, "replay-desktop.png", full_page=True)

        for probe in (first, second):
            # The drawn frame is the one on screen, and the drawn box is its box scaled to the picture.
            frame = frame_at(timeline, probe["currentTime"])
            assert probe["frameIndex"] == frame["frame_index"]
            assert abs(frame["pts"] - probe["videoTime"]) < 1.5 / timeline["video"]["fps"]
            assert (probe["picture"]["videoWidth"], probe["picture"]["videoHeight"]) == (640, 360)
            drawn = probe["drawnBoxes"][0]
            assert drawn["track_id"] == frame["faces"][0]["track_id"]
            assert np.allclose([drawn["x"], drawn["y"], drawn["w"], drawn["h"]],
                               expected_box(timeline, probe["currentTime"], probe["picture"]), atol=1.0)
            assert abs(probe["playheadX"] - (area["x"] + probe["currentTime"] / duration * area["w"])) < 1.0
        a, b = first["drawnBoxes"][0], second["drawnBoxes"][0]
        moved = np.hypot(a["x"] + a["w"] / 2 - b["x"] - b["w"] / 2, a["y"] + a["h"] / 2 - b["y"] - b["h"] / 2)
        assert moved > 20, (a, b)
        assert second["playheadX"] - first["playheadX"] > 50
        # The canvas really holds the box: the middle of its top edge has the verdict's colour.
        r, g, b_, alpha = edge_pixel(page, b)
        assert alpha == 255 and np.allclose((r, g, b_), VERDICT_RGB[b["verdict"]], atol=3)

        # Playing: each shown frame gets its own timeline frame (requestVideoFrameCallback's media time).
        page.evaluate("document.getElementById('video').play()")
        samples = []
        page.wait_for_function("() => replayState().syncedBy === 'frame' && !document.getElementById('video').paused",
                               timeout=10000)
        for _ in range(8):
            page.wait_for_timeout(150)
            samples.append(page.evaluate("({t: replayState().currentTime, i: replayState().frameIndex, by: replayState().syncedBy})"))
        page.evaluate("document.getElementById('video').pause()")
        assert len({s["i"] for s in samples}) >= 3, samples
        assert all(s["i"] == frame_at(timeline, s["t"])["frame_index"] for s in samples), samples
        assert {s["by"] for s in samples} == {"frame"}, samples

        # Summary: overall verdict, one row per track, worst moments that seek when clicked.
        overall = page.get_attribute("#overall", "data-verdict")
        assert overall in verdict
        # The headline says what the score means against the threshold, not just "no sign of manipulation".
        said = page.inner_text("#overall .verdict-text")
        highest = max(t["max_score"] for t in timeline["tracks"])
        assert f"threshold of {timeline['model']['threshold']:.2f}" in said and f"{highest:.2f}" in said, said
        assert page.locator("table.tracks tbody tr").count() == len(timeline["tracks"])
        moment = page.locator("#moments .moment").first
        target = float(moment.get_attribute("data-t"))
        top = max(f["score"] for fr in timeline["frames"] for f in fr["faces"])
        assert moment.locator("b").inner_text() == f"{top:.2f}"
        moment.click()
        wait_drawn_at(page, target)
        # The plot is a keyboard slider too.
        page.focus("#plot")
        page.keyboard.press("ArrowRight")
        wait_drawn_at(page, min(target + 1, duration))

        # Exports link to the API's downloads.
        assert page.get_attribute("#export-json", "href") == f"/api/scans/{scan_id}/timeline.json"
        assert page.get_attribute("#export-csv", "href") == f"/api/scans/{scan_id}/timeline.csv"

        # A phone: nothing sticks out sideways, the overlay still lines up with the picture.
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        page.evaluate("(t) => { document.getElementById('video').currentTime = t; }", t1)
        phone = wait_drawn_at(page, t1)
        assert np.allclose([phone["drawnBoxes"][0][k] for k in "xywh"],
                           expected_box(timeline, phone["currentTime"], phone["picture"]), atol=1.0)
        assert overflow(page) == []
        screenshot(page, "replay-phone.png", full_page=True)

        # A phone video stored landscape with rotation metadata: Chrome shows it turned, the scan's boxes are in the
        # stored picture's coordinates, so the page draws none and says why.
        if shutil.which("ffmpeg"):
            turned = tmp_path / "turned.mp4"
            subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(clip("single_face.mp4")), "-c", "copy",
                            "-metadata:s:v:0", "rotate=90", str(turned)], check=True, timeout=60)
            page.set_input_files("#file", str(turned))
            page.wait_for_function("() => replayState().upload.phase === 'done'", timeout=30000)
            page.wait_for_function("""() => replayState().ready && replayState().scanId === replayState().upload.id
                && document.getElementById('video').videoHeight === 640""", timeout=15000)
            page.evaluate("document.getElementById('video').currentTime = 1.0")
            page.wait_for_function("() => Math.abs(replayState().currentTime - 1.0) < 0.1", timeout=10000)
            assert "rotation" in page.inner_text("#player-banner")
            assert page.evaluate("replayState().drawnBoxes") == []

        assert log.blocked == [] and all(u.startswith(base + "/") for u in log.requests if not u.startswith("data:"))
        # The rejected upload logs a 400 in the console; nothing else may.
        assert [e for e in log.errors if "400" not in e] == []
