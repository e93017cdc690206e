import numpy as np
import pytest

from streamer.core.faces import Face, FaceDetector
from streamer.media.video import file_frames
from streamer.core.tracker import Tracker, iou

from tests.footage import side_by_side


def face_at(x: float, y: float, size: float = 100.0) -> Face:
    box = np.array([x, y, x + size, y + size], np.float32)
    kps = np.array([[x + 0.3 * size, y + 0.4 * size], [x + 0.7 * size, y + 0.4 * size], [x + 0.5 * size, y + 0.6 * size],
                    [x + 0.5 * size, y + 0.8 * size], [x, y + 0.5 * size], [x + size, y + 0.5 * size]], np.float32)
    return Face(box, kps, 0.9)


def track_ids(path, limit=None) -> list[list[int]]:
    tracker = Tracker()
    ids = []
    with FaceDetector() as det:
        for i, frame in enumerate(file_frames(path)):
            if limit and i >= limit:
                break
            matched, _ = tracker.update(det.detect(frame.image, frame.pts), frame.pts)
            ids.append(sorted(t.id for t, _ in matched))
    return ids


def test_iou():
    assert iou(np.array([0, 0, 10, 10]), np.array([0, 0, 10, 10])) == 1.0
    assert iou(np.array([0, 0, 10, 10]), np.array([20, 20, 30, 30])) == 0.0
    assert iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)


def test_moving_faces_keep_their_ids_and_new_faces_get_new_ones():
    tracker = Tracker()
    ids = []
    for step in range(20):
        matched, _ = tracker.update([face_at(100 + 5 * step, 100), face_at(400 - 5 * step, 120)], step / 25)
        ids.append([t.id for t, _ in matched])
    assert all(frame_ids == [1, 2] for frame_ids in ids)
    matched, _ = tracker.update([face_at(800, 500)], 1.0)
    assert [t.id for t, _ in matched] == [3]


def test_track_ends_after_max_missed_frames_and_returns_as_new():
    tracker = Tracker(max_missed=3)
    tracker.update([face_at(100, 100)], 0.0)
    ended_all = []
    for step in range(1, 5):
        _, ended = tracker.update([], step / 25)
        ended_all += ended
    assert [t.id for t in ended_all] == [1] and not tracker.tracks
    matched, _ = tracker.update([face_at(100, 100)], 0.3)
    assert matched[0][0].id == 2


def test_short_gap_keeps_the_id():
    tracker = Tracker(max_missed=5)
    tracker.update([face_at(100, 100)], 0.0)
    tracker.update([], 0.04)
    tracker.update([], 0.08)
    matched, _ = tracker.update([face_at(104, 100)], 0.12)
    assert matched[0][0].id == 1


def test_two_real_people_get_two_stable_ids(tmp_path):
    ids = track_ids(side_by_side(tmp_path / "two.mp4"))
    assert len(ids) >= 45
    assert sum(1 for frame_ids in ids if frame_ids == [1, 2]) >= 0.9 * len(ids)
    assert max(max(frame_ids, default=0) for frame_ids in ids) == 2


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
def test_face_leaving_and_entering(clip, name):
    ids = track_ids(clip(name))
    with_face = [i for i, frame_ids in enumerate(ids) if frame_ids]
    without = [i for i, frame_ids in enumerate(ids) if not frame_ids]
    assert len(with_face) > 20 and len(without) > 20
    seen = {tid for frame_ids in ids for tid in frame_ids}
    assert all(len(frame_ids) <= 1 for frame_ids in ids)
    assert 1 <= len(seen) <= 3  # one person; a new id only after a real absence
    if name == "face_noface.mov":
        assert with_face[0] == 0 and without[-1] == len(ids) - 1
    else:
        assert without[0] == 0 and with_face[-1] >= len(ids) - 5
