import asyncio
import json
import os
import subprocess
import sys

import pytest

from streamer.storage.store import Store

from tests.footage import audio_only
from .api import api_client, form, read_events

DONE = {"done", "failed"}


async def upload_and_wait(client, path, filename="clip.mp4"):
    resp = await client.post("/api/scans", data=form(path, filename=filename))
    assert resp.status == 202, await resp.text()
    scan = await resp.json()
    events = await read_events(client, f"/api/scans/{scan['id']}/events", lambda e: e["status"] in DONE)
    return scan, events


async def test_a_real_clip_scans_to_completion_with_progress(random_model, clip, tmp_path, monkeypatch):
    # every progress report becomes an event: on a fast machine the 16 s clip's two segments can end within one
    # throttle interval, leaving only the events at 0
    monkeypatch.setattr("streamer.server.scans.PROGRESS_EVERY", 0.0)
    async with api_client(random_model, tmp_path / "data") as client:
        scan, events = await upload_and_wait(client, clip("WolfgangLanger_Pexels.mp4"), "talk.mp4")
        assert scan["filename"] == "talk.mp4" and scan["info"]["width"] == 640
        progress = [e["progress"] for e in events if e["status"] == "running"]
        assert len(progress) >= 3 and progress == sorted(progress) and 0 < progress[-1] < 1
        assert events[-1]["status"] == "done"
        body = await (await client.get(f"/api/scans/{scan['id']}")).json()
        assert body["status"] == "done" and body["progress"] == 1.0 and "path" not in body
        assert len(body["timeline"]["frames"]) == 472
        listed = await (await client.get("/api/scans")).json()
        assert [s["id"] for s in listed["scans"]] == [scan["id"]]
        tracks = body["timeline"]["tracks"]
        assert listed["scans"][0]["summary"] == {"verdict": listed["scans"][0]["summary"]["verdict"],
                                                 "tracks": len(tracks),
                                                 "max_score": max(t["max_score"] for t in tracks)}
        events_after_done = await read_events(client, f"/api/scans/{scan['id']}/events", lambda e: False)
        assert [e["status"] for e in events_after_done] == ["done"]  # a finished scan's stream ends at once


async def test_stored_timeline_equals_the_cli_scan(random_model, random_model_dir, clip, tmp_path):
    video = clip("single_face.mp4")
    out = tmp_path / "cli.json"
    env = {**os.environ, "DFS_MODEL_DIR": str(random_model_dir)}
    subprocess.run([sys.executable, "-m", "streamer.cli", "scan", str(video), "--json", str(out), "--quiet"],
                   check=True, env=env, capture_output=True, timeout=120)
    cli = json.loads(out.read_text())
    async with api_client(random_model, tmp_path / "data") as client:
        scan, _ = await upload_and_wait(client, video, "single_face.mp4")
    stored = Store(tmp_path / "data" / "deepfake-streamer.sqlite").scan(scan["id"], with_timeline=True)["timeline"]
    assert stored["frames"] == cli["frames"] and stored["tracks"] == cli["tracks"]
    assert stored["video"] == cli["video"] and stored["model"] == cli["model"]


async def test_exports_and_video_with_range_requests(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        scan, _ = await upload_and_wait(client, clip("single_face.mp4"))
        csv_resp = await client.get(f"/api/scans/{scan['id']}/timeline.csv")
        lines = (await csv_resp.text()).splitlines()
        assert lines[0].startswith("pts,frame_index,track_id") and len(lines) == 73
        assert "attachment" in csv_resp.headers["Content-Disposition"]
        video = await client.get(f"/api/scans/{scan['id']}/video", headers={"Range": "bytes=100-199"})
        assert video.status == 206 and len(await video.read()) == 100
        assert video.headers["Content-Type"] == "video/mp4"
        assert (await client.get("/api/scans/0123456789abcdef")).status == 404
        assert (await client.get("/api/scans/../../etc")).status == 404


def _leftovers(data_dir):
    uploads = data_dir / "uploads"
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


@pytest.mark.parametrize("make, status, message", [
    (lambda p: b"", 400, "empty"),
    (lambda p: b"this is a text file, not a video\n" * 100, 400, "not a readable video"),
    (lambda p: audio_only(p).read_bytes(), 400, "no video stream"),
    (lambda p: b"\0" * 300_000, 413, "larger than"),
])
async def test_bad_uploads_get_clear_errors_and_leave_nothing(random_model, tmp_path, make, status, message):
    data_dir = tmp_path / "data"
    async with api_client(random_model, data_dir, max_upload_bytes=200_000) as client:
        resp = await client.post("/api/scans", data=form(data=make(tmp_path / "a.mp4")))
        body = await resp.json()
        assert resp.status == status and message in body["error"]
        assert (await client.get("/api/scans")).status == 200
        assert (await (await client.get("/api/scans")).json())["scans"] == []
    assert _leftovers(data_dir) == []


async def test_path_traversal_file_names_cannot_write_outside(random_model, clip, tmp_path):
    data_dir = tmp_path / "data"
    async with api_client(random_model, data_dir) as client:
        resp = await client.post("/api/scans", data=form(clip("single_face.mp4"), filename="../../../../tmp/evil.mp4"))
        scan = await resp.json()
        assert resp.status == 202 and scan["filename"] == "evil.mp4"
    assert _leftovers(data_dir) == [scan["id"]]
    assert not (tmp_path / "evil.mp4").exists() and not (data_dir / "evil.mp4").exists()


async def test_server_side_paths_stay_inside_the_media_folder(random_model, clip, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "talk.mp4").write_bytes(clip("single_face.mp4").read_bytes())
    async with api_client(random_model, tmp_path / "data", media_dir=media) as client:
        ok = await client.post("/api/scans", json={"path": "talk.mp4"})
        assert ok.status == 202
        for bad, status in (("../data/x.mp4", 403), ("/etc/passwd", 403), ("nope.mp4", 404), (5, 400)):
            resp = await client.post("/api/scans", json={"path": bad})
            assert resp.status == status, bad
        assert (await client.post("/api/scans", data="{not json", headers={"Content-Type": "application/json"})).status == 400
        assert (await client.post("/api/scans", data="x", headers={"Content-Type": "text/plain"})).status == 415
    async with api_client(random_model, tmp_path / "data2") as client:
        resp = await client.post("/api/scans", json={"path": "talk.mp4"})
        assert resp.status == 403 and "disabled" in (await resp.json())["error"]


async def test_a_shutdown_mid_scan_queues_it_again_and_keeps_finished_scans(random_model, clip, tmp_path):
    """A clean stop is not the scan's fault: the running one goes back to the queue and resumes at the next
    start, from the beginning."""
    data_dir = tmp_path / "data"
    async with api_client(random_model, data_dir) as client:
        done, _ = await upload_and_wait(client, clip("single_face.mp4"))
        resp = await client.post("/api/scans", data=form(clip("WolfgangLanger_Pexels.mp4")))
        running = await resp.json()
        await read_events(client, f"/api/scans/{running['id']}/events", lambda e: e["status"] == "running")
    assert Store(data_dir / "deepfake-streamer.sqlite").scan(running["id"])["status"] == "queued"
    async with api_client(random_model, data_dir) as client:
        await read_events(client, f"/api/scans/{running['id']}/events", lambda e: e["status"] in DONE)
        resumed = await (await client.get(f"/api/scans/{running['id']}")).json()
        kept = await (await client.get(f"/api/scans/{done['id']}")).json()
    assert resumed["status"] == "done" and resumed["error"] is None and len(resumed["timeline"]["frames"]) == 472
    assert kept["status"] == "done" and len(kept["timeline"]["frames"]) == 72


async def test_a_scan_left_running_by_a_crash_is_failed_at_start(random_model, tmp_path):
    data_dir = tmp_path / "data"
    store = Store(data_dir / "deepfake-streamer.sqlite")
    store.create_scan("00000000000000aa", "lost.mp4", "/nowhere")
    store.update_scan("00000000000000aa", status="running", progress=0.5)
    store.close()
    async with api_client(random_model, data_dir) as client:
        body = await (await client.get("/api/scans/00000000000000aa")).json()
    assert body["status"] == "failed" and "unexpectedly" in body["error"]


async def test_too_many_queued_scans_get_429(random_model, clip, tmp_path):
    async with api_client(random_model, tmp_path / "data") as client:
        from streamer.server.keys import SCANS_KEY

        client.server.app[SCANS_KEY].max_queued = 1
        first = await client.post("/api/scans", data=form(clip("WolfgangLanger_Pexels.mp4")))
        second = await client.post("/api/scans", data=form(clip("single_face.mp4")))
        assert first.status == 202 and second.status == 429
        assert "queued" in (await second.json())["error"]
        await asyncio.sleep(0)
