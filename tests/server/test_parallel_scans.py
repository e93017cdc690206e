"""The server scans an upload as `scan` does: split into segments on the worker processes, one pool for all."""
from __future__ import annotations

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.core.model import Model
from streamer.files.scan import scan_file
from streamer.server.keys import SCANS_KEY
from streamer.server.scans import SEGMENT_SECONDS, segment_count
from streamer.storage.store import Store

from tests.files.segments.test_parallel_scan import SAMPLED_TOLERANCE
from .api import api_client, form, read_events

DONE = {"done", "failed"}


async def test_an_upload_that_splits_is_scanned_in_segments_and_matches_one_process(clip, tmp_path):
    model = Model(DEFAULT_MODEL_DIR)
    video = clip("WolfgangLanger_Pexels.mp4")  # 20 s: two segments for two workers
    async with api_client(model, tmp_path / "data", workers=2) as client:
        resp = await client.post("/api/scans", data=form(video, filename="talk.mp4"))
        assert resp.status == 202, await resp.text()
        scan_id = (await resp.json())["id"]
        events = await read_events(client, f"/api/scans/{scan_id}/events", lambda e: e["status"] in DONE, 240)
        pool = client.app[SCANS_KEY]._pool
        assert pool is not None and pool.workers == 2
    assert events[-1]["status"] == "done", events[-1]
    assert {e.get("segments") for e in events if e["status"] == "running" and e["progress"] > 0} == {2}
    stored = Store(tmp_path / "data" / "deepfake-streamer.sqlite").scan(scan_id, with_timeline=True)["timeline"]
    # The server samples as `scan` does (faces followed, frames carried): against every frame, scores stay within
    # the sampled bound and every track keeps its verdict.
    every = scan_file(video, model, every_frame=True)
    assert len(stored["frames"]) == len(every["frames"])
    worst = max(abs(a["faces"][0]["score"] - b["faces"][0]["score"]) for a, b in zip(every["frames"], stored["frames"])
                if a["faces"] and b["faces"] and a["faces"][0]["score"] is not None and b["faces"][0]["score"] is not None)
    assert worst <= SAMPLED_TOLERANCE
    assert [t["verdict"] for t in stored["tracks"]] == [t["verdict"] for t in every["tracks"]]


def test_segments_are_a_multiple_of_the_workers_and_none_much_longer_than_the_cap():
    assert segment_count(20.0, 2) == 2 and segment_count(0.0, 3) == 3
    ten_minutes = segment_count(600.0, 2)
    assert ten_minutes % 2 == 0 and 600.0 / ten_minutes <= SEGMENT_SECONDS
