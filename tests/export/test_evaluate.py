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
