import numpy as np
import pytest

from streamer.core.faces import FaceDetector
from streamer.media.video import file_frames


def detections(path, limit=60, fps=None):
    with FaceDetector() as det:
        return [det.detect(f.image, f.pts) for f, _ in zip(file_frames(path, fps), range(limit))]


@pytest.mark.parametrize("name", ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4"])
def test_finds_the_face_in_talking_head_clips(clip, name):
    per_frame = detections(clip(name))
    found = sum(1 for faces in per_frame if len(faces) == 1)
    assert found >= 0.9 * len(per_frame)
    face = per_frame[-1][0]
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 and 0 <= y0 < y1 and face.score > 0.5
    eye_r, eye_l = face.keypoints[0], face.keypoints[1]
    assert x0 <= eye_r[0] < eye_l[0] <= x1  # subject's right eye is on the image's left


def test_finds_no_face_in_no_face_clip(clip):
    per_frame = detections(clip("no_face.mp4"), limit=100)
    assert len(per_frame) > 50
    assert sum(len(faces) for faces in per_frame) == 0


def test_keypoints_lie_inside_the_box(clip):
    for faces in detections(clip("single_face.mp4"), limit=10):
        for face in faces:
            x0, y0, x1, y1 = face.box
            pad = 0.2 * (x1 - x0)
            assert np.all((face.keypoints[:4, 0] > x0 - pad) & (face.keypoints[:4, 0] < x1 + pad))
            assert np.all((face.keypoints[:4, 1] > y0 - pad) & (face.keypoints[:4, 1] < y1 + pad))


def test_overlapping_quiet_stderr_restores_the_real_stderr_once(tmp_path):
    import os
    import threading

    from streamer.core.faces.detector import quiet_stderr

    before = os.fstat(2).st_ino
    barrier = threading.Barrier(4)

    def work():
        with quiet_stderr():
            barrier.wait()
            assert os.fstat(2).st_ino == os.stat(os.devnull).st_ino

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert os.fstat(2).st_ino == before


def still(clip, name):
    import cv2

    return cv2.cvtColor(cv2.imread(str(clip(name))), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("name, people, at_least", [("multi_face.jpg", 5, 4), ("insightface_t1.jpg", 6, 5),
                                                    ("zidane.jpg", 2, 2)])
def test_auto_finds_the_faces_of_group_photos(clip, name, people, at_least):
    from streamer.core.faces.tiles import iou

    image = still(clip, name)
    with FaceDetector(mode="auto", still=True, max_faces=32) as det:
        faces = det.detect(image, 0.0)
    assert at_least <= len(faces) <= people
    for i, a in enumerate(faces):  # merged: no face reported twice
        assert all(iou(a.box, b.box) < 0.3 for b in faces[i + 1:])
        x0, y0, x1, y1 = a.box
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
        eye_r, eye_l = a.keypoints[0], a.keypoints[1]
        assert x0 <= eye_r[0] < eye_l[0] <= x1  # keypoints moved back from tile to image coordinates


def test_full_range_model_loads_in_the_tasks_api_and_finds_distant_faces(clip):
    with FaceDetector(mode="full", still=True) as det:
        assert len(det.detect(still(clip, "multi_face.jpg"), 0.0)) >= 4


def test_auto_finds_no_face_where_there_is_none(clip):
    frames = [f.image for f, _ in zip(file_frames(clip("no_face.mp4"), fps=1), range(5))]
    with FaceDetector(mode="auto", still=True) as det:
        assert sum(len(det.detect(f, 0.0)) for f in frames) == 0


def test_auto_on_video_keeps_one_face_per_person_in_a_wide_frame(clip):
    from tests.footage import read_frames

    left, right = read_frames("single_face.mp4", 10), read_frames("WolfgangLanger_Pexels.mp4", 10)
    with FaceDetector(mode="auto") as det:
        counts = [len(det.detect(np.concatenate([a, b], axis=1), i / 25)) for i, (a, b) in enumerate(zip(left, right))]
    assert counts.count(2) >= 8


def test_unknown_detector_is_refused_with_the_choices():
    from streamer.core.faces.detector import DetectorError

    with pytest.raises(DetectorError, match="short, full, auto"):
        FaceDetector(mode="tiny")


def test_tiles_cover_the_whole_image_with_overlap():
    from streamer.core.faces.tiles import tile_grid

    for h, w in [(886, 1280), (2204, 970), (512, 512), (1080, 1920)]:
        tiles = tile_grid(h, w)
        covered = np.zeros((h, w), bool)
        for y, x, th, tw in tiles:
            assert 0 <= y and y + th <= h and 0 <= x and x + tw <= w
            covered[y:y + th, x:x + tw] = True
        assert covered.all() and len(tiles) >= 3
    assert tile_grid(200, 300) == []
