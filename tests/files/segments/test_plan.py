from __future__ import annotations

import pytest

from streamer.files.scan import scan_file
from streamer.files.segments import NotSplittable, index_file, plan, split

from tests.footage import truncated


def test_segments_cover_every_frame_once_and_start_at_keyframes(clip):
    index = index_file(clip("WolfgangLanger_Pexels.mp4"))
    segments = plan(index, 3)
    assert len(segments) == 3
    assert sum(s.frames for s in segments) == len(index.pts)
    assert segments[0].start == index.pts[0] and segments[-1].end is None
    for before, after in zip(segments, segments[1:]):
        assert before.end == after.start and after.start in index.keyframes
        assert after.seek in index.keyframes and after.seek <= after.warm < after.start
        assert index.time(after.start) - index.time(after.warm) == pytest.approx(3.0, abs=0.05)
        assert after.first_index == before.first_index + before.frames


def test_short_files_are_not_split(clip):
    assert len(split(clip("single_face.mp4"), 4)) == 1
    assert len(split(clip("WolfgangLanger_Pexels.mp4"), 1)) == 1
    assert len(plan(index_file(clip("WolfgangLanger_Pexels.mp4")), 8)) == 3  # at least 6 s each


def test_truncated_files_are_left_to_the_whole_file_scan(tmp_path):
    with pytest.raises(NotSplittable):
        index_file(truncated(tmp_path / "cut.mp4"))


def test_fps_sampling_keeps_what_a_whole_file_scan_analyses(clip, random_model):
    path = clip("WolfgangLanger_Pexels.mp4")
    index = index_file(path)
    kept = set().union(*(s.keep for s in plan(index, 2, fps=5)))
    whole = scan_file(path, random_model, fps=5)
    assert sorted(round(index.time(p), 4) for p in kept) == [f["pts"] for f in whole["frames"]]
