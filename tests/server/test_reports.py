"""Scan reports: built once and cached until the scan changes, progress while one builds, builds rate-limited."""
from __future__ import annotations

import asyncio
import shutil
import time

import pytest

import streamer.server.reports as reports_module
from streamer.files.scan import scan_file
from streamer.storage.store import Store
from streamer.files.timeline import summary

from .api import api_client

ADMIN, VIEWER = "admin-token-1234", "viewer-token-5678"


@pytest.fixture
def finished_scans(random_model, clip, tmp_path):
    """A data folder holding two finished scans of a real clip, as the server leaves them."""
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    store = Store(data / "deepfake-streamer.sqlite")
    timeline = scan_file(clip("single_face.mp4"), random_model)
    ids = ["a" * 16, "b" * 16]
    for scan_id in ids:
        path = shutil.copy(clip("single_face.mp4"), data / "uploads" / scan_id)
        store.create_scan(scan_id, f"{scan_id[0]}.mp4", str(path))
        store.update_scan(scan_id, timeline=timeline, summary=summary(timeline), status="done", progress=1.0,
                          finished=time.time())
    store.close()
    return data, ids


@pytest.fixture
def builds(monkeypatch):
    """Every report the server renders."""
    made = []
    render = reports_module.render

    def counted(*args, **kwargs):
        made.append(args[0][0][2])
        return render(*args, **kwargs)

    monkeypatch.setattr(reports_module, "render", counted)
    return made


async def test_the_second_request_is_served_from_the_cache(random_model, finished_scans, builds):
    data, (scan_id, _) = finished_scans
    async with api_client(random_model, data) as client:
        first = await client.get(f"/api/scans/{scan_id}/report.html")
        assert first.status == 200
        page = await first.text()
        started = time.perf_counter()
        second = await client.get(f"/api/scans/{scan_id}/report.html")
        took = time.perf_counter() - started
        assert second.status == 200 and await second.text() == page
        assert took < 1.0 and builds == ["a.mp4"]  # built once
        together = await asyncio.gather(*(client.get(f"/api/scans/{scan_id}/report.html") for _ in range(3)))
        assert [r.status for r in together] == [200] * 3 and builds == ["a.mp4"]


async def test_the_page_link_shows_progress_until_the_report_is_ready(random_model, finished_scans, builds):
    data, (scan_id, _) = finished_scans
    async with api_client(random_model, data) as client:
        url = f"/api/scans/{scan_id}/report.html?progress"
        first = await client.get(url)
        assert first.status == 202 and first.headers["Cache-Control"] == "no-store"
        waiting = await first.text()
        assert '<meta http-equiv="refresh" content="1">' in waiting and "<progress" in waiting and "a.mp4" in waiting
        for _ in range(120):  # as the page reloads itself
            resp = await client.get(url)
            if resp.status == 200:
                break
            assert resp.status == 202
            await asyncio.sleep(0.5)
        report = await resp.text()
        assert resp.status == 200 and "Deepfake scan report" in report and "refresh" not in report
        assert builds == ["a.mp4"]


async def test_a_changed_scan_gets_a_new_report_and_a_deleted_one_none(random_model, finished_scans, builds):
    data, (scan_id, _) = finished_scans
    async with api_client(random_model, data) as client:
        assert (await client.get(f"/api/scans/{scan_id}/report.html")).status == 200
        store = Store(data / "deepfake-streamer.sqlite")
        store.update_scan(scan_id, finished=time.time() + 1)  # what a rescan leaves: finished again, later
        store.close()
        assert (await client.get(f"/api/scans/{scan_id}/report.html")).status == 200
        assert builds == ["a.mp4", "a.mp4"]
        assert (await client.delete(f"/api/scans/{scan_id}")).status == 200
        await asyncio.sleep(0.1)  # the cache follows the server's events
        from streamer.server.keys import REPORTS_KEY

        assert client.app[REPORTS_KEY].cached({"id": scan_id, "status": "done", "finished": None}) is None
        assert not client.app[REPORTS_KEY]._pages
        assert (await client.get(f"/api/scans/{scan_id}/report.html")).status == 404


async def test_viewer_tokens_are_rate_limited_on_requests_that_build(random_model, finished_scans, builds):
    data, (first, second) = finished_scans
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    async with api_client(random_model, data, api_token=ADMIN, viewer_token=VIEWER, mutations_per_minute=4) as client:
        assert (await client.get(f"/api/scans/{first}/report.html", headers=viewer)).status == 200
        refused = await client.get(f"/api/scans/{second}/report.html", headers=viewer)  # a burst of one at 4/min
        body = await refused.json()
        assert refused.status == 429 and "report builds" in body["error"] and int(refused.headers["Retry-After"]) >= 1
        cached = await client.get(f"/api/scans/{first}/report.html", headers=viewer)  # builds nothing: not limited
        assert cached.status == 200 and builds == ["a.mp4"]
