"""Deleting scans and alerts through the API of a real server; paging and search; background retention."""
from __future__ import annotations

import asyncio
import sqlite3
import time

from streamer.server.keys import STORE_KEY
from streamer.storage.store import Store

from .api import api_client, form, read_events
from .test_scans_api import upload_and_wait


async def test_delete_removes_row_timeline_and_file(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        scan, _ = await upload_and_wait(client, clip("single_face.mp4"))
        upload = tmp_path / "data" / "uploads" / scan["id"]
        assert upload.is_file()
        resp = await client.delete(f"/api/scans/{scan['id']}")
        assert resp.status == 200 and (await resp.json()) == {"deleted": scan["id"]}
        assert not upload.exists()
        assert (await client.get(f"/api/scans/{scan['id']}")).status == 404
        assert (await client.get(f"/api/scans/{scan['id']}/video")).status == 404
        assert await client.server.app[STORE_KEY].scan(scan["id"]) is None
        assert (await client.delete(f"/api/scans/{scan['id']}")).status == 404
        assert (await client.delete("/api/scans/not-an-id")).status == 404


async def test_deleting_a_running_scan_stops_it_first(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/scans", data=form(clip("WolfgangLanger_Pexels.mp4")))
        running = await resp.json()
        queued = await (await client.post("/api/scans", data=form(clip("single_face.mp4")))).json()
        await read_events(client, f"/api/scans/{running['id']}/events", lambda e: e["status"] == "running")
        for scan in (queued, running):
            assert (await client.delete(f"/api/scans/{scan['id']}")).status == 200
            assert not (tmp_path / "data" / "uploads" / scan["id"]).exists()
        listed = await (await client.get("/api/scans")).json()
        assert listed["scans"] == [] and listed["total"] == 0
        # the queue is free again
        done, _ = await upload_and_wait(client, clip("single_face.mp4"))
        assert (await (await client.get(f"/api/scans/{done['id']}")).json())["status"] == "done"


async def test_delete_an_alert(random_model, tmp_path):
    store = Store(tmp_path / "data" / "deepfake-streamer.sqlite")
    alert = store.add_alert("lobby", 1, 0.0, 0.9, time.time(), b"\xff\xd8x")
    store.close()
    async with api_client(random_model, tmp_path / "data") as client:
        assert (await client.get(f"/api/alerts/{alert}/snapshot.jpg")).status == 200
        assert (await client.delete(f"/api/alerts/{alert}")).status == 200
        assert (await client.get(f"/api/alerts/{alert}/snapshot.jpg")).status == 404
        assert (await (await client.get("/api/alerts")).json())["alerts"] == []
        assert (await client.delete(f"/api/alerts/{alert}")).status == 404


async def test_scans_list_pages_and_searches(random_model, tmp_path):
    store = Store(tmp_path / "data" / "deepfake-streamer.sqlite")
    for i in range(7):
        store.create_scan(f"{i:016x}", f"{'holiday' if i % 2 else 'meeting'}-{i}.mp4", f"/nowhere/{i}")
        store.update_scan(f"{i:016x}", status="done")
    store.close()
    async with api_client(random_model, tmp_path / "data") as client:
        first = await (await client.get("/api/scans?limit=3")).json()
        second = await (await client.get("/api/scans?limit=3&offset=3")).json()
        assert first["total"] == 7 and len(first["scans"]) == 3 and len(second["scans"]) == 3
        assert not {s["id"] for s in first["scans"]} & {s["id"] for s in second["scans"]}
        found = await (await client.get("/api/scans?q=HOLIDAY")).json()
        assert found["total"] == 3 and all("holiday" in s["filename"] for s in found["scans"])
        assert (await (await client.get("/api/scans?q=%25")).json())["total"] == 0  # LIKE wildcards are literal
        for bad in ("limit=0", "limit=abc", "offset=-1", "limit=100000"):
            resp = await client.get(f"/api/scans?{bad}")
            assert resp.status == 400 and "error" in await resp.json(), bad


async def test_background_retention_prunes_old_scans(random_model, tmp_path):
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    store = Store(data / "deepfake-streamer.sqlite")
    old = data / "uploads" / "00000000000000b1"
    old.write_bytes(b"\0" * 1000)
    store.create_scan(old.name, "old.mp4", str(old))
    store.update_scan(old.name, status="done")
    store.close()
    with sqlite3.connect(data / "deepfake-streamer.sqlite") as db:
        db.execute("UPDATE scans SET created = ?", (time.time() - 10 * 86400,))
    async with api_client(random_model, data, retention_days=7, retention_interval=0.1) as client:
        for _ in range(50):
            if not old.exists():
                break
            await asyncio.sleep(0.1)
        assert not old.exists()
        assert (await client.get(f"/api/scans/{old.name}")).status == 404
