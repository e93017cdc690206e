"""A segment-parallel scan equals the whole-file scan in shape, and in score within the tolerance."""
from __future__ import annotations

import pytest

from streamer.files import timeline
from streamer.files.scan import scan_file
from streamer.files.segments import TOLERANCE, scan_parallel

jsonschema = pytest.importorskip("jsonschema")


def compare(whole: dict, parts: dict) -> float:
    """Same frames, faces and track ids; returns the largest score difference."""
    assert len(parts["frames"]) == len(whole["frames"])
    assert [t["track_id"] for t in parts["tracks"]] == [t["track_id"] for t in whole["tracks"]]
    worst = 0.0
    for a, b in zip(whole["frames"], parts["frames"]):
        assert (a["pts"], a["frame_index"]) == (b["pts"], b["frame_index"])
        assert [f["track_id"] for f in a["faces"]] == [f["track_id"] for f in b["faces"]]
        for fa, fb in zip(a["faces"], b["faces"]):
            assert (fa["box"], fa["frame_score"], fa["reason"]) == (fb["box"], fb["frame_score"], fb["reason"])
            worst = max(worst, difference(fa["score"], fb["score"]))
    for ta, tb in zip(whole["tracks"], parts["tracks"]):
        same = ("first_pts", "last_pts", "frames", "not_scored", "reason")
        assert [ta[k] for k in same] == [tb[k] for k in same]
        assert difference(ta["mean_score"], tb["mean_score"]) <= TOLERANCE
    return worst


def difference(a: float | None, b: float | None) -> float:
    """Unscored (None) on both sides is no difference; on one side only, the largest there is."""
    if a is None or b is None:
        return 0.0 if a is b else 1.0
    return abs(a - b)


@pytest.mark.parametrize("fps", [None, 8.0])
def test_parallel_scan_of_a_real_clip_matches_the_whole_file_scan(clip, shipped_model, pool, fps):
    path = clip("WolfgangLanger_Pexels.mp4")
    whole = scan_file(path, shipped_model, fps)
    seen = []
    parts = scan_parallel(path, shipped_model, pool.run, 3, fps, lambda s, n: seen.append((s, n)))
    jsonschema.validate(parts, timeline.schema())
    assert parts.keys() == whole.keys() and parts["video"] == whole["video"] and parts["model"] == whole["model"]
    assert compare(whole, parts) <= TOLERANCE
    assert seen and seen[-1][1] == len(whole["frames"])


def test_two_tracks_keep_their_ids_through_every_border(two_faces, shipped_model, pool):
    whole = scan_file(two_faces, shipped_model)
    parts = scan_parallel(two_faces, shipped_model, pool.run, 3)
    assert len(whole["tracks"]) == 2
    assert compare(whole, parts) <= TOLERANCE


def test_files_that_do_not_split_are_scanned_whole(clip, shipped_model, pool):
    path = clip("single_face.mp4")
    assert scan_parallel(path, shipped_model, pool.run, 2) == scan_file(path, shipped_model)


def test_worker_processes_take_the_parents_detector_choice(random_model_dir, monkeypatch):
    """--detector is a process setting: each spawned worker gets it through the pool's initializer."""
    import streamer.core.faces.detector as detector
    from streamer.files.segments import pool

    for name, value in ((detector, "_default_mode"), (pool, "_model"), (pool, "_queue"), (pool, "_cancelled")):
        monkeypatch.setattr(name, value, None)  # restored after the test: _init sets them for this process
    reports = []

    class Queue:
        put = staticmethod(reports.append)

    pool._init(str(random_model_dir), Queue(), [], "full")
    assert detector.default_mode() == "full"  # what every FaceDetector() of the worker now uses
    assert reports == [("ready", 0, 0.0, 0)]
