"""Streams stored by an earlier run come back checked like new ones; a row the settings refuse is skipped."""
from __future__ import annotations

import logging

from streamer.storage.store import Store

from .api import api_client


async def test_a_stored_stream_the_flags_no_longer_allow_is_skipped_and_the_server_starts(random_model, tmp_path,
                                                                                         caplog):
    data = tmp_path / "data"
    store = Store(data / "deepfake-streamer.sqlite")
    store.save_stream({"name": "old-http", "url": "http://127.0.0.1:9/cam.mjpg", "fps": 5.0, "threshold": 0.5,
                       "alert_seconds": 2.0})  # added while --allow-http-streams was on
    store.save_stream({"name": "bad fps", "url": "rtsp://127.0.0.1:9/x", "fps": 1e9, "threshold": 0.5,
                       "alert_seconds": 2.0})  # written by hand, out of range
    store.save_stream({"name": "door", "url": "rtsp://127.0.0.1:9/door", "fps": 5.0, "threshold": 0.5,
                       "alert_seconds": 2.0})
    store.close()
    with caplog.at_level(logging.WARNING, logger="streamer.server.restore"):
        async with api_client(random_model, data) as client:
            assert (await client.get("/healthz")).status == 200
            names = [s["name"] for s in (await (await client.get("/api/streams")).json())["streams"]]
    assert names == ["door"]
    skipped = [r.getMessage() for r in caplog.records if r.name == "streamer.server.restore"]
    assert len(skipped) == 2
    assert "'old-http' skipped" in skipped[0] and "http" in skipped[0]
    assert "'bad fps' skipped" in skipped[1] and "'fps' must be between" in skipped[1]
    assert Store(data / "deepfake-streamer.sqlite").streams()[0]["name"] == "old-http"  # kept, not deleted


async def test_files_are_private_and_stream_passwords_encrypted_across_restarts(random_model, clip, tmp_path, caplog):
    import os
    import stat

    from .api import form

    def mode(path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    data = tmp_path / "data"
    url = "rtsp://admin:s3cret-pa55@127.0.0.1:9/door"
    old = os.umask(0)
    try:
        async with api_client(random_model, data) as client:
            assert (await client.post("/api/streams", json={"name": "door", "url": url})).status == 201
            resp = await client.post("/api/scans", data=form(clip("single_face.jpg"), filename="me.jpg"))
            assert resp.status == 202
            upload = data / "uploads" / (await resp.json())["id"]
            assert mode(data) == 0o700 and mode(data / "uploads") == 0o700 and mode(upload) == 0o600
            assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file())
    finally:
        os.umask(old)
    key = tmp_path / "data.key"
    assert mode(key) == 0o600
    assert not any(b"s3cret-pa55" in p.read_bytes() for p in data.iterdir() if p.is_file())
    async with api_client(random_model, data) as client:
        streams = (await (await client.get("/api/streams")).json())["streams"]
        assert [s["name"] for s in streams] == ["door"] and "s3cret" not in streams[0]["url"]
    key.rename(tmp_path / "elsewhere.key")  # lost key: the stream is skipped with a reason, and kept
    with caplog.at_level(logging.WARNING, logger="streamer.server.restore"):
        async with api_client(random_model, data) as client:
            assert (await (await client.get("/api/streams")).json())["streams"] == []
    assert any("'door' skipped" in r.getMessage() and "decrypted" in r.getMessage() for r in caplog.records)
    async with api_client(random_model, data, key_file_path=tmp_path / "elsewhere.key") as client:
        assert [s["name"] for s in (await (await client.get("/api/streams")).json())["streams"]] == ["door"]
