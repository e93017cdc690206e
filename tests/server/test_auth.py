"""Access control with a real server: every read needs a credential once a token is set; viewer tokens read
only; the sign-in cookie works for pages and the API, and cookie writes from other sites are refused."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from streamer.media.video import Frame
from streamer.server.keys import STORE_KEY
from streamer.server.keys import THUMBNAILS_KEY
from streamer.storage.store import Store

from .api import api_client

ADMIN, VIEWER = "adm1n-t0ken-xyz", "v1ewer-t0ken-xyz"
SCAN = "00000000000000a1"
TIMELINE = {"schema_version": 1, "frames": [{"pts": 0.0, "frame_index": 0, "faces": []}], "tracks": []}


def seed(data_dir: Path, video: Path) -> None:
    store = Store(data_dir / "deepfake-streamer.sqlite")
    store.create_scan(SCAN, "earlier.mp4", str(video))
    store.update_scan(SCAN, status="done", progress=1.0, timeline=TIMELINE, info={"format": "mov,mp4"})
    store.add_alert("lobby", 3, 1.5, 0.9, 1000.0, b"\xff\xd8jpeg")
    store.close()


READS = ["/api/config", "/api/sessions", "/api/streams", "/api/alerts", "/api/alerts/1/snapshot.jpg",
         "/api/scans", f"/api/scans/{SCAN}", f"/api/scans/{SCAN}/timeline.json", f"/api/scans/{SCAN}/timeline.csv",
         f"/api/scans/{SCAN}/video", f"/api/scans/{SCAN}/events", "/api/streams/cam/thumbnail.jpg", "/metrics"]


@pytest.fixture
def data_dir(tmp_path: Path, clip) -> Path:
    seed(tmp_path / "data", Path(clip("single_face.mp4")))
    return tmp_path / "data"


async def test_every_read_needs_a_credential(random_model, data_dir):
    async with api_client(random_model, data_dir, api_token=ADMIN, viewer_token=VIEWER) as client:
        client.server.app[THUMBNAILS_KEY].offer("cam", Frame(np.zeros((20, 20, 3), np.uint8), 0.0, 0))
        for path in READS:
            denied = await client.get(path)
            assert denied.status == 401, path
            assert "token" in (await denied.json())["error"]
            assert (await client.get(path, headers={"Authorization": "Bearer wrong"})).status == 401, path
            for token in (ADMIN, VIEWER):
                ok = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                assert ok.status == 200, (path, ok.status, await ok.text())
                await ok.read()
        # a token in the address is never accepted
        assert (await client.get(f"/api/streams?token={ADMIN}")).status == 401
        # the live event stream too
        async with client.get("/api/events") as denied:
            assert denied.status == 401
        async with client.get("/api/events", headers={"Authorization": f"Bearer {VIEWER}"}) as live:
            assert live.status == 200 and live.headers["Content-Type"].startswith("text/event-stream")


async def test_viewer_reads_but_cannot_change_anything(random_model, data_dir):
    async with api_client(random_model, data_dir, api_token=ADMIN, viewer_token=VIEWER) as client:
        viewer = {"Authorization": f"Bearer {VIEWER}"}
        body = {"name": "cam", "url": "rtsp://127.0.0.1:9/none"}
        refused = await client.post("/api/streams", json=body, headers=viewer)
        assert refused.status == 403 and "read-only" in (await refused.json())["error"]
        assert (await client.delete(f"/api/scans/{SCAN}", headers=viewer)).status == 403
        assert (await client.post("/api/streams", json=body)).status == 401
        ok = await client.post("/api/streams", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
        assert ok.status == 201


async def test_sign_in_cookie_for_pages_and_api_with_csrf_check(random_model, data_dir):
    async with api_client(random_model, data_dir, api_token=ADMIN) as client:
        for page in ("/", "/replay", "/dashboard"):
            resp = await client.get(page, allow_redirects=False)
            assert resp.status == 303 and resp.headers["Location"] == f"/signin?next={page}"
        assert (await client.get("/signin")).status == 200
        assert (await client.get("/static/signin.js")).status == 200
        assert (await client.get("/healthz")).status == 200
        assert (await (await client.get("/api/auth")).json()) == {"role": None, "required": True}

        bad = await client.post("/api/auth/login", json={"token": "nope"})
        assert bad.status == 401 and not bad.cookies
        good = await client.post("/api/auth/login", json={"token": ADMIN})
        assert good.status == 200
        cookie = good.cookies["dfs_auth"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert ADMIN not in cookie.value  # derived from the token, not the token
        assert (await (await client.get("/api/auth")).json())["role"] == "admin"
        assert (await client.get("/replay", allow_redirects=False)).status == 200
        assert (await client.get("/api/scans")).status == 200

        origin = f"http://{client.server.host}:{client.server.port}"
        body = {"name": "cam", "url": "rtsp://127.0.0.1:9/none"}
        cross = await client.post("/api/streams", json=body, headers={"Origin": "https://evil.example"})
        assert cross.status == 403 and "cross-site" in (await cross.json())["error"]
        cross = await client.post("/api/streams", json=body, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status == 403
        same = await client.post("/api/streams", json=body, headers={"Origin": origin})
        assert same.status == 201, await same.text()

        await client.post("/api/auth/logout", headers={"Origin": origin})
        assert (await client.get("/api/scans")).status == 401


async def test_loopback_server_without_token_stays_open_but_refuses_cross_site_writes(random_model, data_dir):
    async with api_client(random_model, data_dir) as client:
        for path in READS[:-3]:
            assert (await client.get(path)).status == 200, path
        assert (await client.get("/replay", allow_redirects=False)).status == 200
        cross = await client.post("/api/streams", json={"name": "cam", "url": "rtsp://127.0.0.1:9/x"},
                                  headers={"Origin": "http://evil.example"})
        assert cross.status == 403


async def test_no_response_event_or_log_line_holds_a_stream_password(random_model, data_dir, caplog, silent_port):
    secret = "S3cretPassw0rd"
    url = f"rtsp://cam:{secret}@127.0.0.1:{silent_port}/live"
    caplog.set_level("DEBUG")
    async with api_client(random_model, data_dir, api_token=ADMIN) as client:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        seen = []
        async with client.get("/api/events", headers=auth) as events:
            created = await client.post("/api/streams", json={"name": "cam", "url": url}, headers=auth)
            assert created.status == 201
            seen.append(await created.text())
            assert json.loads(seen[-1])["url"] == f"rtsp://cam:***@127.0.0.1:{silent_port}/live"

            async def collect():
                async for raw in events.content:
                    seen.append(raw.decode())

            try:
                await asyncio.wait_for(collect(), 7.0)  # the connect timeout passes: an error status event
            except asyncio.TimeoutError:
                pass
        for path in ("/api/streams", "/metrics", "/api/alerts"):
            seen.append(await (await client.get(path, headers=auth)).text())
        errors = [json.loads(s[6:]) for s in seen if s.startswith("data: ") and '"error": "' in s]
        assert errors, "no error status event was seen"
        stored = await client.server.app[STORE_KEY].streams()
        assert stored[0]["url"] == url  # kept, to connect again after a restart
    text = "\n".join(seen) + "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert secret not in text


async def test_behind_a_proxy_the_forwarded_host_counts_as_same_origin(random_model, data_dir):
    async with api_client(random_model, data_dir) as client:
        body = {"name": "cam", "url": "rtsp://127.0.0.1:9/none"}
        proxied = {"Origin": "https://dfs.example.org", "X-Forwarded-Host": "dfs.example.org"}
        assert (await client.post("/api/streams", json=body, headers=proxied)).status == 201
        other = {"Origin": "https://evil.example", "X-Forwarded-Host": "dfs.example.org"}
        assert (await client.post("/api/streams", json=body, headers=other)).status == 403
