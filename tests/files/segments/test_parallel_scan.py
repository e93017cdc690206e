"""A segment-parallel scan equals the whole-file scan in shape, and in score within the tolerance (every frame
analysed); with scan sampling, it stays within the sampling's own budget of the every-frame scan."""
from __future__ import annotations

import pytest

from streamer.core.model import Model
from streamer.files import timeline
from streamer.files.scan import scan_file
from streamer.files.segments import TOLERANCE, SegmentPool, scan_parallel

# Largest |smoothed score| gap of SCAN sampling from every frame allowed here: bench/sampling.py measured 0.245 on
# this clip's first 300 frames (mean 0.013; no file verdict changed), all of it far below the 0.987 threshold.
SAMPLED_TOLERANCE = 0.3

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
    whole = scan_file(path, shipped_model, fps, every_frame=True)
    seen = []
    parts = scan_parallel(path, shipped_model, pool.run, 3, fps, lambda s, n: seen.append((s, n)), every_frame=True)
    jsonschema.validate(parts, timeline.schema())
    assert parts.keys() == whole.keys() and parts["video"] == whole["video"] and parts["model"] == whole["model"]
    assert compare(whole, parts) <= TOLERANCE
    assert seen and seen[-1][1] == len(whole["frames"])


def test_two_tracks_keep_their_ids_through_every_border(two_faces, shipped_model, pool):
    whole = scan_file(two_faces, shipped_model, every_frame=True)
    parts = scan_parallel(two_faces, shipped_model, pool.run, 3, every_frame=True)
    assert len(whole["tracks"]) == 2
    assert compare(whole, parts) <= TOLERANCE


def test_a_sampled_parallel_scan_stays_close_to_the_every_frame_scan(clip, shipped_model, pool):
    """Segments sample as the whole-file scan does (faces followed, frames carried); against every frame
    the scores stay within SAMPLED_TOLERANCE and every track keeps its verdict."""
    path = clip("WolfgangLanger_Pexels.mp4")
    every = scan_file(path, shipped_model, every_frame=True)
    parts = scan_parallel(path, shipped_model, pool.run, 3)
    jsonschema.validate(parts, timeline.schema())
    faces = [f for frame in parts["frames"] for f in frame["faces"]]
    assert len(parts["frames"]) == len(every["frames"]) and len(faces) == len(every["frames"])
    assert all(f["score"] is not None for f in faces) and sum(f.get("carried", False) for f in faces) > len(faces) / 3
    worst = max(abs(a["faces"][0]["score"] - b["faces"][0]["score"]) for a, b in zip(every["frames"], parts["frames"]))
    assert worst <= SAMPLED_TOLERANCE
    assert [t["verdict"] for t in parts["tracks"]] == [t["verdict"] for t in every["tracks"]]


def test_files_that_do_not_split_are_scanned_whole(clip, shipped_model, pool):
    path = clip("single_face.mp4")
    assert scan_parallel(path, shipped_model, pool.run, 2) == scan_file(path, shipped_model)


def test_worker_processes_take_the_parents_detector_choice(random_model_dir, monkeypatch):
    """--detector is a process setting: each spawned worker gets it through the pool's initializer, and runs
    OpenCV on one thread (the workers are the parallelism)."""
    import cv2

    import streamer.core.faces.detector as detector
    from streamer.files.segments import pool

    for name, value in ((detector, "_default_mode"), (pool, "_model"), (pool, "_queue"), (pool, "_cancelled")):
        monkeypatch.setattr(name, value, None)  # restored after the test: _init sets them for this process
    reports = []

    class Queue:
        put = staticmethod(reports.append)

    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        pool._init(str(random_model_dir), Queue(), [], "full")
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(threads)
    assert detector.default_mode() == "full"  # what every FaceDetector() of the worker now uses
    assert reports == [("ready", 0, 0.0, 0)]


def test_a_parallel_scan_keeps_each_face_heat_as_the_whole_file_scan_does(clip, heat_model_dir):
    path, model = clip("WolfgangLanger_Pexels.mp4"), Model(heat_model_dir)
    whole = scan_file(path, model, 8.0, every_frame=True)
    heat_pool = SegmentPool(heat_model_dir, 2)
    try:
        parts = scan_parallel(path, model, heat_pool.run, 2, 8.0, every_frame=True)
    finally:
        heat_pool.close()
    jsonschema.validate(parts, timeline.schema())
    assert parts["model"] == whole["model"] and whole["model"]["heatmap_size"] == 8
    heats = [[f.get("heat") for f in fr["faces"]] for fr in whole["frames"]]
    assert heats == [[f.get("heat") for f in fr["faces"]] for fr in parts["frames"]]
    assert sum(h is not None for row in heats for h in row) > 20
