import asyncio

import cv2
import numpy as np
import pytest

from .api import api_client


async def streams(client):
    return {s["name"]: s for s in (await (await client.get("/api/streams")).json())["streams"]}


async def test_add_watch_and_remove_a_real_rtsp_stream(random_model, rtsp_server, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/streams", json={"name": "door", "url": rtsp_server.url, "fps": 5,
                                                       "threshold": 0.0, "alert_seconds": 0.5})
        assert resp.status == 201, await resp.text()
        live = {}

        async def poll():
            live.update(await streams(client))
            return live["door"]["status"] == "live" and live["door"]["frames_analysed"] >= 5

        for _ in range(200):
            if await poll():
                break
            await asyncio.sleep(0.1)
        assert live["door"]["status"] == "live" and live["door"]["latest"]["faces"]
        # the stream's own threshold (0 here) decides its verdicts, not the model's
        assert {f["verdict"] for f in live["door"]["latest"]["faces"]} <= {"fake", "not_scored"}
        thumb = await client.get(live["door"]["thumbnail"])
        picture = cv2.imdecode(np.frombuffer(await thumb.read(), np.uint8), cv2.IMREAD_COLOR)
        assert thumb.status == 200 and picture.shape == (270, 480, 3)  # 640x360 scaled to 480 wide
        alerts = []
        for _ in range(100):
            alerts = (await (await client.get("/api/alerts?stream=door")).json())["alerts"]
            if alerts:
                break
            await asyncio.sleep(0.1)
        assert alerts and alerts[0]["stream"] == "door"
        jpeg = await client.get(f"/api/alerts/{alerts[0]['id']}/snapshot.jpg")
        image = cv2.imdecode(np.frombuffer(await jpeg.read(), np.uint8), cv2.IMREAD_COLOR)
        assert jpeg.headers["Content-Type"] == "image/jpeg" and image.shape[0] > 50
        assert (await client.delete("/api/streams/door")).status == 200
        assert await streams(client) == {}
        assert (await client.delete("/api/streams/door")).status == 404
    async with api_client(random_model, tmp_path / "data") as client:  # alerts survive a restart
        assert (await (await client.get("/api/alerts")).json())["alerts"][0]["id"] == alerts[0]["id"]


async def test_streams_are_restored_after_a_restart(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/streams", json={"name": "gate", "url": "rtsp://127.0.0.1:9/none"})
        assert resp.status == 201
    async with api_client(random_model, tmp_path / "data") as client:
        assert list(await streams(client)) == ["gate"]


@pytest.mark.parametrize("body, message", [
    ({"name": "x", "url": "file:///etc/passwd"}, "not allowed"),
    ({"name": "x", "url": "concat:/etc/passwd|/etc/hosts"}, "not allowed"),
    ({"name": "x", "url": "http://127.0.0.1:9/stream.m3u8"}, "not allowed"),
    ({"name": "x", "url": "rtsp://"}, "no host"),
    ({"name": "../x", "url": "rtsp://127.0.0.1/a"}, "'name'"),
    ({"name": "x", "url": "rtsp://127.0.0.1/a", "fps": "fast"}, "'fps'"),
    ({"name": "x", "url": "rtsp://127.0.0.1/a", "fps": 1e9}, "'fps'"),
    ({"name": "x", "url": "rtsp://127.0.0.1/a", "threshold": 2}, "'threshold'"),
    ({"name": "x", "url": "rtsp://127.0.0.1/a", "extra": 1}, "unknown fields"),
    (["not", "an", "object"], "JSON object"),
])
async def test_bad_stream_requests_get_400(random_model, tmp_path, body, message):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.post("/api/streams", json=body)
        assert resp.status == 400 and message in (await resp.json())["error"]
        assert await streams(client) == {}


async def test_duplicates_and_garbage(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        body = {"name": "cam", "url": "rtsp://127.0.0.1:9/none"}
        assert (await client.post("/api/streams", json=body)).status == 201
        assert (await client.post("/api/streams", json=body)).status == 409
        garbage = await client.post("/api/streams", data=b"\xff\xfe{", headers={"Content-Type": "application/json"})
        assert garbage.status == 400
        assert (await client.get("/api/alerts?limit=abc")).status == 400
        assert (await client.get("/api/alerts/99999/snapshot.jpg")).status == 404


async def test_token_is_required_when_configured(random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", api_token="s3cret") as client:
        body = {"name": "cam", "url": "rtsp://127.0.0.1:9/none"}
        denied = await client.post("/api/streams", json=body)
        assert denied.status == 401 and "token" in (await denied.json())["error"]
        assert (await client.post("/api/streams", json=body, headers={"Authorization": "Bearer nope"})).status == 401
        assert (await client.get("/api/streams")).status == 401
        ok = await client.post("/api/streams", json=body, headers={"Authorization": "Bearer s3cret"})
        assert ok.status == 201
        assert (await client.delete("/api/streams/cam")).status == 401
        # the webcam page's offer needs a credential too (and this one is garbage)
        assert (await client.post("/api/offer", json={"sdp": "x", "type": "offer"})).status == 401
        assert (await client.post("/api/offer", json={"sdp": "x", "type": "offer"},
                                  headers={"Authorization": "Bearer s3cret"})).status == 400


def test_listening_beyond_loopback_needs_a_token():
    from streamer.server.config import ConfigError, from_args

    with pytest.raises(ConfigError, match="API token"):
        from_args(None, {"DFS_HOST": "0.0.0.0"})
    assert from_args(None, {"DFS_HOST": "0.0.0.0", "DFS_API_TOKEN": "t"}).api_token == "t"


async def test_restart_connects_again_with_the_kept_password(random_model, tmp_path):
    from streamer.server.keys import MONITOR_KEY, STORE_KEY

    async with api_client(random_model, tmp_path / "data") as client:
        url = "rtsp://cam:pw-kept@127.0.0.1:9/none"
        assert (await client.post("/api/streams", json={"name": "gate", "url": url})).status == 201
        before = client.server.app[MONITOR_KEY].streams["gate"]
        resp = await client.post("/api/streams/gate/restart")
        assert resp.status == 200
        body = await resp.json()
        assert body["name"] == "gate" and body["url"] == "rtsp://cam:***@127.0.0.1:9/none"
        after = client.server.app[MONITOR_KEY].streams["gate"]
        assert after is not before and after.cfg.url == url
        assert [s["url"] for s in await client.server.app[STORE_KEY].streams()] == [url]
        assert (await client.post("/api/streams/nothing/restart")).status == 404
