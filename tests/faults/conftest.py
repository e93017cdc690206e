"""A real server on 127.0.0.1 holding an earlier scan and alert that no fault may damage."""
from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from streamer.core.model import Model
from streamer.storage.store import Store

from tests.server.conftest import loopback_config
from bench.harness import ServerThread

DONE_SCAN = "00000000000000d0"
TIMELINE = {"schema_version": 1, "frames": [{"pts": 0.0, "frame_index": 0, "faces": []}], "tracks": []}


class Client:
    """Plain HTTP/1.1 requests, one connection each, so a broken request cannot poison the next."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, payload: object) -> tuple[int, dict]:
        status, body = self.request(method, path, json.dumps(payload), {"Content-Type": "application/json"})
        return status, json.loads(body) if body else {}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults-data")
    store = Store(path / "deepfake-streamer.sqlite")
    store.create_scan(DONE_SCAN, "earlier.mp4", str(path / "earlier.mp4"))
    store.update_scan(DONE_SCAN, status="done", progress=1.0, timeline=TIMELINE)
    store.add_alert("lobby", 7, 3.5, 0.97, 1000.0, b"\xff\xd8earlier")
    store.close()
    return path


@pytest.fixture(scope="module")
def server(random_model_dir: Path, data_dir: Path):
    cfg = loopback_config(data_dir=data_dir, max_sessions=2, max_upload_bytes=3_000_000,
                          mutations_per_minute=0)  # fuzzing sends thousands of requests on purpose
    with ServerThread(cfg, Model(random_model_dir)) as running:
        yield running


@pytest.fixture
def client(server) -> Client:
    return Client(server.port)


def assert_intact(client: Client) -> None:
    """The server still answers, and what was stored before is unchanged."""
    status, body = client.request("GET", "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, scan = client.request("GET", f"/api/scans/{DONE_SCAN}")
    scan = json.loads(scan)
    assert status == 200 and scan["status"] == "done" and scan["timeline"] == TIMELINE
    status, alerts = client.request("GET", "/api/alerts?stream=lobby")
    assert status == 200 and [(a["track_id"], a["score"]) for a in json.loads(alerts)["alerts"]] == [(7, 0.97)]
