"""Scans after `kill -9` of a real `serve`: the queued ones resume at the next start; the one running is
marked failed (it may be what killed the server) and can be retried through the API."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.loopback import free_port

from .test_serve_cli import wait_json


def start(data: Path, port: int, model_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "DFS_MODEL_DIR": str(model_dir)}
    return subprocess.Popen([sys.executable, "-m", "streamer.cli", "serve", "--port", str(port), "--data-dir",
                             str(data), "--ice-address", "127.0.0.1", "--workers", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def upload(url: str, path: Path) -> str:
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + path.name.encode() + b'"\r\n\r\n'
            + path.read_bytes() + b"\r\n--b--\r\n")
    request = urllib.request.Request(url + "/api/scans", data=body, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["id"]


def post(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_status(url: str, scan_id: str, wanted: set[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        scan = wait_json(f"{url}/api/scans/{scan_id}")
        if scan["status"] in wanted or time.monotonic() > deadline:
            return scan
        time.sleep(0.2)


@pytest.mark.timeout(300)
def test_after_kill_9_queued_scans_resume_and_the_running_one_can_be_retried(random_model_dir, clip, tmp_path):
    data, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(data, port, random_model_dir)
    try:
        wait_json(url + "/healthz")
        long_one = upload(url, Path(clip("WolfgangLanger_Pexels.mp4")))
        upload(url, Path(clip("WolfgangLanger_Pexels.mp4")))  # one worker runs two scans at once (workers + 1)
        queued = [upload(url, Path(clip("single_face.mp4"))) for _ in range(2)]
        assert wait_status(url, long_one, {"running"})["status"] == "running"
        assert [wait_json(f"{url}/api/scans/{q}")["status"] for q in queued] == ["queued", "queued"]
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)

        server = start(data, port, random_model_dir)
        wait_json(url + "/healthz")
        for scan_id in queued:
            scan = wait_status(url, scan_id, {"done", "failed"})
            assert scan["status"] == "done" and scan["summary"] is not None, scan
        failed = wait_json(f"{url}/api/scans/{long_one}")
        assert failed["status"] == "failed" and "unexpectedly" in failed["error"] and "retry" in failed["error"]

        assert post(f"{url}/api/scans/{queued[0]}/retry")[0] == 409  # only a failed scan
        assert post(f"{url}/api/scans/0000000000000000/retry")[0] == 404
        status, body = post(f"{url}/api/scans/{long_one}/retry")
        assert status == 202 and body["status"] == "queued" and body["error"] is None and body["progress"] == 0
        done = wait_status(url, long_one, {"done", "failed"}, timeout=240)
        assert done["status"] == "done" and done["error"] is None
        assert len(wait_json(f"{url}/api/scans/{long_one}")["timeline"]["frames"]) == 472
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def test_a_retry_of_a_scan_whose_file_is_gone_is_410(random_model, tmp_path):
    from streamer.storage.store import Store

    from .api import api_client

    data = tmp_path / "data"
    store = Store(data / "deepfake-streamer.sqlite")
    store.create_scan("00000000000000bb", "gone.mp4", str(tmp_path / "gone.mp4"))
    store.update_scan("00000000000000bb", status="failed", error="no frames")
    store.create_scan("00000000000000cc", "lost.mp4", str(tmp_path / "lost.mp4"))  # queued, file gone
    store.close()
    async with api_client(random_model, data) as client:
        resp = await client.post("/api/scans/00000000000000bb/retry")
        assert resp.status == 410 and "upload it again" in (await resp.json())["error"]
        lost = await (await client.get("/api/scans/00000000000000cc")).json()
        assert lost["status"] == "failed" and "no longer" in lost["error"]
        assert (await client.post("/api/scans/not-an-id/retry")).status == 404
