import numpy as np

from streamer.core.faces import FaceDetector
from streamer.core.faces.tiles import iou
from streamer.core.motion import FaceFollower, FollowConfig
from streamer.media.video import Frame, file_frames


def frames_of(clip, name: str, count: int):
    return [f for f, _ in zip(file_frames(clip(name)), range(count))]


def detected(frames):
    with FaceDetector() as det:
        return [det.detect(f.image, f.pts) for f in frames]


def follow(frames, every: int):
    follower, last, out = FaceFollower(FollowConfig(every=every)), [], []
    with FaceDetector() as det:
        for f in frames:
            last, ran = follower.faces(f, last, lambda: det.detect(f.image, f.pts))
            out.append((last, ran))
    return follower, out


def test_faces_followed_between_detections_stay_on_the_detected_faces(clip):
    frames = frames_of(clip, "WolfgangLanger_Pexels.mp4", 60)
    truth = detected(frames)
    follower, out = follow(frames, every=6)
    ran = [r for _, r in out]
    assert ran[0] and 10 <= sum(ran) <= 14  # every 6th frame, and again only when a face is lost
    followed = [(faces, t) for (faces, r), t in zip(out, truth) if not r]
    assert all(len(faces) == len(t) == 1 for faces, t in followed)
    overlaps = [iou(faces[0].box, t[0].box) for faces, t in followed]
    assert min(overlaps) > 0.8 and np.mean(overlaps) > 0.9
    kp_error = [np.abs(faces[0].keypoints[:4] - t[0].keypoints[:4]).max() for faces, t in followed]
    eye_px = np.linalg.norm(truth[0][0].keypoints[0] - truth[0][0].keypoints[1])
    assert np.median(kp_error) < 0.15 * eye_px
    assert all(faces[0].score == t[0].score for (faces, r), t in zip(out, truth) if r)  # detected: as is


def test_a_scene_cut_detects_at_once(clip):
    a = frames_of(clip, "WolfgangLanger_Pexels.mp4", 4)
    b = frames_of(clip, "single_face.mp4", 4)
    for i, f in enumerate(b):
        f.pts = a[-1].pts + (i + 1) / 24
    follower, out = follow(a + b, every=50)
    assert [r for _, r in out] == [True, False, False, False, True, False, False, False]
    assert follower.cuts == 1


def test_a_face_that_cannot_be_followed_is_detected_again():
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (120, 160), np.uint8)
    noise = rng.integers(0, 255, (120, 160), np.uint8)
    from streamer.core.faces import Face

    face = Face(np.array([40, 30, 100, 100], np.float32),
                np.array([[55, 50], [85, 50], [70, 65], [70, 80], [45, 55], [95, 55]], np.float32), 0.9)
    follower = FaceFollower(FollowConfig(every=10))
    assert follower._follow(texture, noise, [face], 1.0) is None
    moved = follower._follow(texture, np.roll(texture, 3, axis=1), [face], 1.0)
    assert moved is not None and np.allclose(moved[0].box, face.box + [3, 0, 3, 0], atol=0.5)


def test_every_one_detects_every_frame():
    calls = []
    follower = FaceFollower(FollowConfig(every=1))
    for i in range(5):
        follower.faces(Frame(np.zeros((32, 32, 3), np.uint8), i / 25, i), [], lambda: calls.append(i) or [])
    assert calls == [0, 1, 2, 3, 4]
