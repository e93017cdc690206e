import asyncio

import numpy as np
import pytest

from streamer.media.video import MediaError, aiter_frames, file_frames, probe

from tests.footage import audio_only, tiny_video, truncated


def test_probe_describes_a_real_clip(clip):
    info = probe(clip("WolfgangLanger_Pexels.mp4"))
    assert (info.width, info.height) == (640, 360)
    assert 23 < info.fps < 25 and 19 < info.duration < 20.5


def test_timestamps_are_monotonic_and_frames_rgb(clip):
    frames = list(file_frames(clip("single_face.mp4")))
    assert len(frames) == 72
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8
    assert [f.index for f in frames] == list(range(72))


def test_fps_sampling_keeps_timestamps_spaced(clip):
    frames = list(file_frames(clip("WolfgangLanger_Pexels.mp4"), fps=5))
    gaps = np.diff([f.pts for f in frames])
    assert 90 <= len(frames) <= 100
    assert gaps.min() >= 0.2 - 1 / 24 - 1e-6 and abs(gaps.mean() - 0.2) < 0.01


def test_async_iteration_matches_sync(clip):
    async def collect():
        return [f.pts async for f in aiter_frames(file_frames(clip("single_face.mp4")))]

    assert asyncio.run(collect()) == [f.pts for f in file_frames(clip("single_face.mp4"))]


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, I am not a video\n" * 20), "not a readable video"),
    (audio_only, "no video stream"),
    (tiny_video, "1x1"),
    (lambda p: truncated(p, "single_face.mp4"), "not a readable video"),
    (lambda p: truncated(p, "WolfgangLanger_Pexels.mp4"), "truncated|decoding failed"),
])
def test_bad_files_raise_clear_errors(tmp_path, make, message):
    path = tmp_path / "bad.mp4"
    make(path)
    with pytest.raises(MediaError, match=message):
        list(file_frames(path))


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        list(file_frames(tmp_path / "nope.mp4"))
