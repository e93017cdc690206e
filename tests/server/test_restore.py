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
