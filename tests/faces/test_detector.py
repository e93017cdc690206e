import numpy as np
import pytest

from streamer.faces import FaceDetector
from streamer.sources import file_frames


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

    from streamer.faces.detector import quiet_stderr

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
