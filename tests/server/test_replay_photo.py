"""The replay page with a photo: uploaded through the page, shown still with each face's box, score and verdict.

Screenshots land in artifacts/server/replay-photo*.png.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core.model import Model
from streamer.files.still import still_verdict

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page, overflow, screenshot
from tests.media.test_images import png_declaring

PHOTO = "multi_face.jpg"
pytestmark = pytest.mark.timeout(120)


def test_replay_page_shows_an_uploaded_photo_with_every_face(clip, tmp_path: Path) -> None:
    """With the shipped model: each face gets a real/fake verdict from its own frame score."""
    model = Model(DEFAULT_MODEL_DIR)
    with PageServer(loopback_config(data_dir=tmp_path / "data"), model) as server, \
            chromium(tmp_path) as browser:
        base = server.url
        log = PageLog(base)
        page = open_page(browser, base, "/replay", log)
        page.wait_for_selector("#scans .empty")

        # A decode bomb is refused with the server's reason, shown on the page.
        bomb = tmp_path / "bomb.png"
        bomb.write_bytes(png_declaring(60000, 60000))
        page.set_input_files("#file", str(bomb))
        page.wait_for_selector("#upload-error:not([hidden])", timeout=15000)
        assert "bomb.png" in page.inner_text("#upload-error") and "megapixels" in page.inner_text("#upload-error")

        page.set_input_files("#file", str(clip(PHOTO)))
        page.wait_for_function("() => replayState().upload && replayState().upload.phase === 'done'"
                               " && replayState().ready && replayState().drawnBoxes.length > 0", timeout=40000)
        scan_id = page.evaluate("replayState().upload.id")
        with urllib.request.urlopen(f"{base}/api/scans/{scan_id}", timeout=10) as resp:
            timeline = json.loads(resp.read())["timeline"]
        faces = timeline["frames"][0]["faces"]
        assert len(faces) >= 4
        assert [f["verdict"] for f in faces] == [still_verdict(f["frame_score"], model.manifest) for f in faces]
        assert {f["verdict"] for f in faces} <= {"real", "fake"}  # these scores are far from the threshold
        page.wait_for_timeout(200)
        probe = page.evaluate("replayState()")
        assert probe["still"] is True
        assert page.evaluate("document.getElementById('photo').hidden") is False
        assert page.evaluate("getComputedStyle(document.getElementById('video')).display") == "none"
        picture = probe["picture"]
        assert (picture["naturalWidth"], picture["naturalHeight"]) == (1000, 667)
        sx, sy = picture["w"] / 1000, picture["h"] / 667
        drawn = sorted(probe["drawnBoxes"], key=lambda b: b["track_id"])
        assert [b["track_id"] for b in drawn] == sorted(f["track_id"] for f in faces)
        for box, face in zip(drawn, sorted(faces, key=lambda f: f["track_id"])):
            x0, y0, x1, y1 = face["box"]
            assert np.allclose([box["x"], box["y"], box["w"], box["h"]],
                               [picture["x"] + x0 * sx, picture["y"] + y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy], atol=1.0)
            assert box["verdict"] == face["verdict"] and box["label"].startswith(f"#{face['track_id']}  {face['score']:.2f}")
        # The chips, the bars and the summary: one per face, with its score and verdict.
        assert page.locator("#now-faces .chip").count() == len(faces)
        assert probe["bars"] == len(faces)
        assert page.locator("table.tracks tbody tr").count() == len(faces)
        assert page.inner_text("#time") == "Photo" and page.inner_text("#plot-title") == "Score per face"
        overall = page.get_attribute("#overall", "data-verdict")
        assert overall in {f["verdict"] for f in faces}
        assert "cannot be played" not in page.inner_text("#player-banner") or page.is_hidden("#player-banner")
        assert page.get_attribute("#export-report", "href") == f"/api/scans/{scan_id}/report.html?progress"
        item = page.locator(f".scan[data-id='{scan_id}']")
        assert "photo · 1000×667" in item.inner_text()
        screenshot(page, "replay-photo.png", full_page=True)

        # A fresh visit by link, then a phone: the boxes still line up with the photo.
        page.goto(f"{base}/replay#{scan_id}")
        page.wait_for_function("() => replayState().ready && replayState().drawnBoxes.length > 0", timeout=15000)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_function("(w) => replayState().picture && replayState().picture.w < w", arg=picture["w"],
                               timeout=5000)
        phone = page.evaluate("replayState()")
        box = min(phone["drawnBoxes"], key=lambda b: b["track_id"])
        face = min(faces, key=lambda f: f["track_id"])
        k = phone["picture"]["w"] / 1000
        assert np.allclose([box["x"], box["w"]], [phone["picture"]["x"] + face["box"][0] * k,
                                                  (face["box"][2] - face["box"][0]) * k], atol=1.0)
        assert overflow(page) == []
        screenshot(page, "replay-photo-phone.png", full_page=True)

        assert log.blocked == [] and all(u.startswith(base + "/") for u in log.requests if not u.startswith("data:"))
        assert [e for e in log.errors if "413" not in e] == []
