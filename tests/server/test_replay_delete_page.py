"""The replay page's scan list in headless Chromium: search, and delete with two clicks (the file goes too)."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from streamer.core.model import Model
from streamer.storage.store import Store

from tests.server.conftest import loopback_config
from tests.server.pages_browser import PageLog, PageServer, chromium, open_page

pytestmark = pytest.mark.timeout(120)


def test_search_and_delete_a_scan_from_the_page(random_model_dir: Path, tmp_path: Path, clip) -> None:
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    store = Store(data / "deepfake-streamer.sqlite")
    files = {}
    for i, name in enumerate(["holiday.mp4", "meeting;v2;final.mp4", "holiday-2.mp4"]):
        scan_id = f"{i:016x}"
        files[name] = data / "uploads" / scan_id
        files[name].write_bytes(Path(clip("single_face.mp4")).read_bytes())
        store.create_scan(scan_id, name, str(files[name]))
        store.update_scan(scan_id, status="failed", error="for the test")
    store.close()
    with PageServer(loopback_config(data_dir=data), Model(random_model_dir)) as server, chromium(tmp_path) as browser:
        log = PageLog(server.url)
        page = open_page(browser, server.url, "/replay", log)
        page.wait_for_selector("#scans .scan-row")
        assert page.locator("#scans .scan-row").count() == 3
        page.fill("#scan-search", "holiday")
        page.wait_for_function("() => document.querySelectorAll('#scans .scan-row').length === 2")
        page.fill("#scan-search", "")
        page.wait_for_function("() => document.querySelectorAll('#scans .scan-row').length === 3")

        row = page.locator("#scans .scan-row", has_text="meeting;v2;final.mp4")
        row.locator(".scan").click()
        page.wait_for_function("() => replayState().scanId === '0000000000000001'")
        row.locator(".scan-delete").click()
        assert row.locator(".scan-delete").inner_text() == "Confirm"
        assert files["meeting;v2;final.mp4"].exists()
        row.locator(".scan-delete").click()
        page.wait_for_function("() => document.querySelectorAll('#scans .scan-row').length === 2")
        assert not files["meeting;v2;final.mp4"].exists() and files["holiday.mp4"].exists()
        assert page.evaluate("replayState().scanId") is None
        assert page.inner_text("#title") == "No scan chosen"
        with urllib.request.urlopen(server.url + "/api/scans") as resp:
            assert json.loads(resp.read())["total"] == 2
        assert [e for e in log.errors] == []


def test_on_a_phone_the_upload_panel_comes_first(random_model_dir: Path, tmp_path: Path) -> None:
    with PageServer(loopback_config(data_dir=tmp_path / "data"), Model(random_model_dir)) as server, \
            chromium(tmp_path) as browser:
        page = open_page(browser, server.url, "/replay", PageLog(server.url))
        for width, upload_first in ((390, True), (1280, False)):
            page.set_viewport_size({"width": width, "height": 844})
            page.wait_for_timeout(100)
            upload = page.locator(".upload-card").bounding_box()
            player = page.locator("section[aria-label='Player']").bounding_box()
            assert (upload["y"] < player["y"]) == upload_first, (width, upload, player)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
