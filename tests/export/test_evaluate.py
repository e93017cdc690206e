from __future__ import annotations

import numpy as np

from export.evaluate import dataset_videos, h264


def test_dataset_layouts(tmp_path):
    files = ["ff/original_sequences/youtube/c23/videos/000.mp4",
             "ff/manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
             "ff/manipulated_sequences/FaceSwap/c23/videos/000_003.mp4",
             "celeb/Celeb-real/id0_0000.mp4", "celeb/YouTube-real/00000.mp4",
             "celeb/Celeb-synthesis/id0_id1_0000.mp4", "celeb/notes.txt"]
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"")
    ff = {(p.name, label, kind) for p, label, kind in dataset_videos(tmp_path / "ff")}
    assert ff == {("000.mp4", 0, "real"), ("000_003.mp4", 1, "Deepfakes"), ("000_003.mp4", 1, "FaceSwap")}
    celeb = sorted((p.name, label, kind) for p, label, kind in dataset_videos(tmp_path / "celeb"))
    assert celeb == [("00000.mp4", 0, "real"), ("id0_0000.mp4", 0, "real"), ("id0_id1_0000.mp4", 1, "celeb-synthesis")]


def test_h264_round_trip_keeps_frames():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (64, 80, 3)).astype(np.uint8)
    frames = [np.roll(base, i, axis=1) for i in range(6)]
    out = h264(frames, 35)
    assert len(out) == 6 and out[0].shape == (64, 80, 3)
    assert 0 < np.abs(out[0].astype(int) - frames[0].astype(int)).mean() < 80


def test_every_condition_keeps_the_frames(face_image):
    from export.evaluate import CONDITIONS

    img, _ = face_image
    frames = [img, np.roll(img, 3, axis=1)]
    for name, cond in CONDITIONS.items():
        out = cond(frames)
        assert len(out) == 2 and out[0].shape == img.shape and out[0].dtype == np.uint8, name
    dark, lit = CONDITIONS["dark"](frames)[0], CONDITIONS["backlit"](frames)[0]
    assert dark.mean() < img.mean() and lit[:8, :8].mean() > img[:8, :8].mean()  # bright behind, dark face
    assert lit[70:90, 70:90].mean() < img[70:90, 70:90].mean()


def test_fake_sets_use_another_person_and_every_kind(face_image):
    from export.data import Clip
    from export.evaluate import FAKE_KINDS, synth_sets

    from .conftest import ellipse_landmarks

    img, lm = face_image
    clips = [Clip(f"p{k}.jpg#0", f"p{k}", np.stack([img, img]), np.zeros((2, 4)), np.zeros((2, 6, 2)),
                  np.stack([lm, lm]), np.zeros(2, np.int64)) for k in range(2)]
    clips[1].landmarks[:] = ellipse_landmarks(78, 82, 32, 42, seed=9)
    sets = synth_sets(clips, seed=0)
    kinds = [kind for _, _, _, kind, _, _ in sets]
    assert kinds.count("real") == 2 and all(kinds.count(k) == 2 for k in FAKE_KINDS)
    for name, identity, label, kind, frames, _ in sets:
        assert (label == 0) == (kind == "real") and len(frames) == 2
        if kind.startswith("swap"):
            assert name.split("<")[1] != identity  # the donor is another person
