"""The replay and dashboard pages' loose ends (issue 19 items 13 and 14) and the heatmap toggle (issue 18 item 4),
in headless Chromium against the real server.

Screenshots land in artifacts/server/: replay-photo-faces.png (a photo with several faces, labels apart),
replay-photo-heatmap.png (the toggle on), replay-failed.png (a failed scan), viewer-replay.png and
viewer-dashboard.png (the pages a viewer token sees).
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from export.random_model import write_random_model
from streamer.core import heat
from streamer.core.model import Model
from streamer.storage.store import Store

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page, screenshot

pytestmark = pytest.mark.timeout(300)
PHOTO = "multi_face.jpg"


def overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def canvas_pixel(page, x: float, y: float) -> list[int]:
    return page.evaluate("""([x, y]) => {
        const c = document.getElementById('overlay'), dpr = c.width / c.clientWidth;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data);
    }""", [x, y])


def lit_pixels(page) -> int:
    return page.evaluate("""() => { const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")


def test_a_photo_with_several_faces_labels_apart_says_photo_and_draws_its_heatmap(clip, tmp_path: Path) -> None:
    # A random model with a heatmap output, its threshold set so high that every face ends "real".
    model_dir = write_random_model(tmp_path / "heat-model", heatmap=8)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    (model_dir / "manifest.json").write_text(json.dumps({**manifest, "threshold": 0.9999, "uncertain_margin": 0.00001}))
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(model_dir)) as server, \
            chromium(tmp_path) as browser:
        log = PageLog(server.url)
        page = open_page(browser, server.url, "/replay", log)
        page.wait_for_selector("#scans .empty")
        assert page.is_hidden("#scan-more")  # nothing more to show: the button is not there

        # An upload refused by the server leaves its message ...
        page.set_input_files("#file", {"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"not a video"})
        page.wait_for_selector("#upload-error:not([hidden])", timeout=15000)
        # ... until the next upload starts.
        page.set_input_files("#file", str(clip(PHOTO)))
        page.wait_for_selector("#upload-error", state="hidden", timeout=5000)
        page.wait_for_function("() => replayState().upload && replayState().upload.phase === 'done'"
                               " && replayState().ready && replayState().drawnBoxes.length >= 4", timeout=40000)
        state = page.evaluate("replayState()")
        scan = server.get_json(f"/api/scans/{state['upload']['id']}")
        faces = scan["timeline"]["frames"][0]["faces"]
        scored = [f for f in faces if f["verdict"] != "not_scored"]
        assert len(faces) >= 4 and {f["verdict"] for f in scored} == {"real"}

        # Every face's label clears every other label (the photo's faces sit close together).
        labels = [b["labelBox"] for b in state["drawnBoxes"]]
        assert len(labels) == len(faces)
        assert not [(i, j) for i in range(len(labels)) for j in range(i) if overlaps(labels[i], labels[j])], labels
        # The summary speaks of a photo.
        said = page.inner_text("#overall .verdict-text")
        assert "not proof the photo is genuine" in said and "video" not in said, said
        screenshot(page, "replay-photo-faces.png", full_page=True)

        # The heatmap toggle: offered because the model has a heatmap; off, nothing of it is drawn.
        assert page.is_visible("#heat-toggle") and state["heats"] == 0
        before = lit_pixels(page)
        page.check("#heat")
        page.wait_for_function("(n) => replayState().heats === n", arg=len(scored), timeout=5000)
        assert lit_pixels(page) > before + 2000
        # A hot cell under the bottom row of face 1's grid (below its box, clear of every label) is tinted
        # as streamer/heat.py tints it: red, little blue, as opaque as the cell is hot.
        state = page.evaluate("replayState()")
        pic, video = state["picture"], scan["timeline"]["video"]
        s = pic["w"] / video["width"]
        face = scored[0]
        grid = heat.decode(face["heat"])
        y1 = face["box"][3]
        cx, cy, side = heat.square(face["box"], scan["timeline"]["model"]["crop_margin"])
        cell = side / 8
        others = [heat.square(g["box"], 0.25) for g in scored if g is not face]
        spots = []
        for col in range(8):
            ix, iy = cx - side / 2 + (col + 0.5) * cell, cy - side / 2 + 7.5 * cell  # image pixels
            px, py = pic["x"] + ix * s, pic["y"] + iy * s
            spot = {"x": px - 2, "y": py - 2, "w": 4, "h": 4}
            covered = any(abs(ox - ix) < oside / 2 and abs(oy - iy) < oside / 2 for ox, oy, oside in others)
            if iy < y1 + 4 or covered or any(overlaps(spot, lb) for lb in labels):
                continue
            spots.append((grid[7, col], px, py))
        assert spots, "no clear cell under face 1"
        p, px, py = max(spots)
        assert p > 0.3
        r, g, b, a = canvas_pixel(page, px, py)
        assert r > 200 and b < 80 and abs(a - 0.65 * p * 255) < 12, (p, r, g, b, a)
        screenshot(page, "replay-photo-heatmap.png", full_page=True)
        page.uncheck("#heat")
        page.wait_for_function("() => replayState().heats === 0", timeout=5000)
        assert lit_pixels(page) == before

        # The report overlays the same heatmap on its crops.
        with urllib.request.urlopen(f"{server.url}/api/scans/{scan['id']}/report.html", timeout=30) as resp:
            report = resp.read().decode()
        assert report.count('class="heat"') == len(scored)
        assert [e for e in log.errors if "400" not in e] == []


def seed_failed_scans(data: Path, clip, count: int) -> list[str]:
    (data / "uploads").mkdir(parents=True)
    store = Store(data / "deepfake-streamer.sqlite")
    ids = []
    for i in range(count):
        scan_id = f"{i:016x}"
        path = data / "uploads" / scan_id
        path.write_bytes(Path(clip("single_face.mp4")).read_bytes())
        store.create_scan(scan_id, f"clip-{i:02d}.mp4", str(path))
        store.update_scan(scan_id, status="failed", error="the file: truncated: moov atom not found")
        ids.append(scan_id)
    store.close()
    return ids


def test_show_more_a_failed_scan_and_an_old_upload_error(random_model_dir: Path, clip, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = seed_failed_scans(data, clip, 53)
    with PageServer(loopback_config(data_dir=data), Model(random_model_dir)) as server, chromium(tmp_path) as browser:
        log = PageLog(server.url)
        page = open_page(browser, server.url, "/replay", log)
        page.wait_for_selector("#scans .scan-row")
        # "Show more" shows while the server has more, loads them, then goes.
        assert page.locator("#scans .scan-row").count() == 50 and page.is_visible("#scan-more")
        page.click("#scan-more")
        page.wait_for_function("() => document.querySelectorAll('#scans .scan-row').length === 53")
        assert page.is_hidden("#scan-more")

        # An upload's error goes when another scan is chosen.
        page.set_input_files("#file", {"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"not a video"})
        page.wait_for_selector("#upload-error:not([hidden])", timeout=15000)
        page.locator(f".scan[data-id='{ids[0]}']").click()
        page.wait_for_function(f"() => replayState().scanId === '{ids[0]}'")
        assert page.is_hidden("#upload-error")

        # A failed scan: the banner says why; no threshold is drawn (there are no scores), the plot and the
        # summary say it failed; its report's refusal says so in words; a model without heatmap offers no toggle.
        assert "Truncated: moov atom not found" in page.inner_text("#player-banner")
        assert page.inner_text("#plot-legend") == ""
        assert "failed" in page.inner_text("#summary")
        assert page.is_hidden("#heat-toggle") and page.is_hidden("#exports")
        area = page.evaluate("replayState().plotArea")
        # The plot's dashed threshold line at 0.5 would light the middle row; only the grid's own line may.
        row = page.evaluate("""(a) => { const c = document.getElementById('plot'), dpr = c.width / c.clientWidth;
            const y = Math.round((a.y + a.h / 2) * dpr), x0 = Math.round((a.x + 200) * dpr);
            const d = c.getContext('2d').getImageData(x0, y - 2 * dpr, Math.round(60 * dpr), Math.round(4 * dpr)).data;
            let max = 0; for (let i = 0; i < d.length; i += 4) max = Math.max(max, d[i]); return max; }""", area)
        assert row < 120, row  # the grid line is #2a313c; the threshold line would be #e8ecf1
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/api/scans/{ids[0]}/report.html", timeout=10)
        assert refused.value.code == 409
        message = json.loads(refused.value.read())["error"]
        assert "failed, so it has no report" in message and "is failed" not in message
        screenshot(page, "replay-failed.png", full_page=True)
        # Retry from the page: the failed scan is queued again and runs (its file is a real clip).
        assert page.is_visible("#retry-scan")
        page.click("#retry-scan")
        page.wait_for_function("() => document.getElementById('player-banner').textContent.includes('queued again')")
        assert page.is_hidden("#retry-scan")
        status = "failed"
        for _ in range(300):
            with urllib.request.urlopen(f"{server.url}/api/scans/{ids[0]}", timeout=10) as resp:
                status = json.loads(resp.read())["status"]
            if status == "done":
                break
            time.sleep(0.2)
        assert status == "done"
        assert [e for e in log.errors if "400" not in e] == []


def test_analysis_progress_shows_one_figure(random_model_dir: Path, clip, tmp_path: Path) -> None:
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        page = open_page(browser, server.url, "/replay", PageLog(server.url))
        page.wait_for_selector("#scans .empty")
        page.set_input_files("#file", str(clip("WolfgangLanger_Pexels.mp4")))
        page.wait_for_function("() => document.getElementById('upload-state').textContent.startsWith('Analysing')",
                               timeout=20000)
        seen = []
        for _ in range(6):
            seen.append(page.evaluate("""() => ({pct: document.getElementById('upload-pct').textContent,
                state: document.getElementById('upload-state').textContent,
                bar: document.getElementById('upload-bar').style.width})"""))
            page.wait_for_timeout(300)
        # The percentage beside the bar is the bar, and the words carry no second, different percentage.
        assert all(s["pct"] == s["bar"] and "%" not in s["state"] for s in seen), seen
        page.wait_for_function("() => replayState().upload.phase === 'done'", timeout=60000)


def sign_in(page, base: str, token: str, path: str) -> None:
    page.goto(f"{base}/signin?next={path}")
    page.fill("#token", token)
    page.click("#signin-submit")
    page.wait_for_url(f"{base}{path}")


def test_a_viewer_is_not_offered_upload_delete_or_stream_controls(random_model_dir: Path, clip, tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed_failed_scans(data, clip, 2)
    cfg = loopback_config(data_dir=data, api_token="admin-token", viewer_token="viewer-token")
    with PageServer(cfg, Model(random_model_dir)) as server, chromium(tmp_path) as browser:
        body = json.dumps({"name": "gate", "url": "rtsp://127.0.0.1:9/none"}).encode()
        request = urllib.request.Request(server.url + "/api/streams", data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": "Bearer admin-token"})
        with urllib.request.urlopen(request) as resp:
            assert resp.status == 201
        log = PageLog(server.url)
        page = open_page(browser, server.url, "/signin", log)
        for role, token in (("viewer", "viewer-token"), ("admin", "admin-token")):
            sign_in(page, server.url, token, "/replay")
            page.wait_for_selector("#scans .scan-row")
            page.wait_for_function("(r) => document.documentElement.dataset.role === r", arg=role)
            viewer = role == "viewer"
            assert page.is_visible(".upload-card") is not viewer
            assert page.locator(".scan-delete").first.is_visible() is not viewer
            assert page.is_visible(".viewer-note") is viewer
            assert page.locator(".scan").first.is_visible()  # replaying stays open to a viewer
            if viewer:
                screenshot(page, "viewer-replay.png", full_page=True)
            page.goto(server.url + "/dashboard")
            tile = page.locator(".tile[data-stream='gate']")
            tile.wait_for()
            page.wait_for_function("(r) => document.documentElement.dataset.role === r", arg=role)
            assert page.is_visible("section[aria-label='Add a stream']") is not viewer
            assert tile.locator("button.remove").is_visible() is not viewer
            assert page.is_visible(".viewer-note") is viewer
            if viewer:
                page.wait_for_timeout(300)
                screenshot(page, "viewer-dashboard.png", full_page=True)
            page.request.post(server.url + "/api/auth/logout")
        assert log.blocked == []
