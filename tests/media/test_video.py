from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from streamer.media.video import rgb


def _frame(fmt: str, width: int = 64, height: int = 48, colorspace: int = 2, color_range: int = 1) -> av.VideoFrame:
    """A smooth colour picture with sharp edges, in ``fmt``."""
    y, x = np.mgrid[:height, :width]
    image = np.stack([x * 255 // width, y * 255 // height, (x // 8 + y // 8) % 2 * 200 + 20], -1).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=fmt)
    frame.colorspace, frame.color_range = colorspace, color_range
    return frame


def test_bt601_yuv420p_matches_swscale_within_a_few_levels():
    frame = _frame("yuv420p")
    fast, reference = rgb(frame).astype(int), frame.to_ndarray(format="rgb24").astype(int)
    assert fast.shape == reference.shape == (48, 64, 3)
    assert np.abs(fast - reference).mean() < 2.0
    assert np.abs(fast - reference).max() <= 16  # chroma at edges: nearest, not interpolated


@pytest.mark.parametrize("fmt, colorspace, color_range, size", [
    ("yuv420p", 1, 1, (64, 48)),  # BT.709
    ("yuv420p", 2, 2, (64, 48)),  # full range
    ("yuvj420p", 2, 2, (64, 48)),
    ("yuv444p", 2, 1, (64, 48)),
    ("nv12", 2, 1, (64, 48)),
    ("yuv420p", 2, 1, (63, 47)),  # odd sides
])
def test_other_frames_are_converted_by_swscale(fmt, colorspace, color_range, size):
    frame = _frame(fmt, *size, colorspace=colorspace, color_range=color_range)
    assert np.array_equal(rgb(frame), frame.to_ndarray(format="rgb24"))


def test_single_threaded_decoding_gives_the_same_frames(clip):
    from streamer.media.video import single_threaded

    path = str(clip("WolfgangLanger_Pexels.mp4"))

    def first_frames(one_thread: bool) -> list[np.ndarray]:
        with av.open(path) as container:
            stream = container.streams.video[0]
            if one_thread:
                single_threaded(stream)
                assert stream.codec_context.thread_count == 1 and stream.thread_type.name == "NONE"
            frames = []
            for frame in container.decode(stream):
                frames.append(rgb(frame))
                if len(frames) == 30:
                    return frames
        return frames

    threaded, single = first_frames(False), first_frames(True)
    assert len(single) == 30 and all(np.array_equal(a, b) for a, b in zip(threaded, single))


def _decode_with(path: str, wanted_fps) -> tuple[dict[float, np.ndarray], "ReferenceFrames"]:
    """Every frame the decoder gives while ``ReferenceFrames`` is told the analysis takes ``wanted_fps(t)``."""
    from streamer.media.video import ReferenceFrames

    frames = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        refs = ReferenceFrames(stream)
        for frame in container.decode(stream):
            refs.decoded(frame.time, wanted_fps(frame.time))
            frames[frame.time] = frame.to_ndarray(format="yuv420p")
    return frames, refs


def _rate(frames: dict[float, np.ndarray], start: float, end: float) -> float:
    return sum(start <= t < end for t in frames) / (end - start)


def test_reference_frames_alone_are_decoded_when_the_analysis_takes_few(clip):
    path = str(clip("WolfgangLanger_Pexels.mp4"))  # 24 fps, x264 High with B-frames
    every, _ = _decode_with(path, lambda t: 30.0)
    refs_only, refs = _decode_with(path, lambda t: 10.0)
    assert refs.on and len(every) == 472
    assert 0.4 * len(every) < len(refs_only) < 0.6 * len(every)
    assert refs.reference_fps >= 1.15 * 10  # measured: still more than the analysis takes
    assert all(np.array_equal(image, every[t]) for t, image in refs_only.items())  # the same pixels


def test_skipping_follows_the_analysis_rate(clip):
    frames, refs = _decode_with(str(clip("WolfgangLanger_Pexels.mp4")), lambda t: 20.0 if 5 <= t < 12 else 8.0)
    assert refs.on
    assert _rate(frames, 5.5, 11.5) > 23  # every frame while the analysis took 20 fps
    assert 10 < _rate(frames, 0.5, 4.5) < 15 and 10 < _rate(frames, 12.5, 19) < 15


def test_too_few_reference_frames_turn_the_skipping_off(clip, tmp_path):
    """B-frames without a pyramid: one frame in four is a reference, 6 fps, too few for 10 fps of analysis."""
    sparse = tmp_path / "sparse_refs.mp4"
    with av.open(str(clip("WolfgangLanger_Pexels.mp4"))) as src, av.open(str(sparse), "w") as out:
        stream = out.add_stream("libx264", rate=24, options={"x264-params": "bframes=3:b-pyramid=none:b-adapt=0"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, 24)
        for i, frame in enumerate(src.decode(video=0)):
            if i == 144:
                break
            frame.pts, frame.time_base = i, Fraction(1, 24)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    frames, refs = _decode_with(str(sparse), lambda t: 10.0)
    assert not refs.on and 5 <= refs.reference_fps <= 7
    assert _rate(frames, 0.2, 1.8) < 8  # skipping for the first 2 s, measured, then every frame again
    assert _rate(frames, 2.5, 5.9) > 23


def test_a_stream_under_twice_the_analysis_rate_decodes_every_frame(clip):
    frames, refs = _decode_with(str(clip("WolfgangLanger_Pexels.mp4")), lambda t: 15.0)
    assert not refs.on and len(frames) == 472


def test_a_decoded_frames_grey_is_its_pictures_grey_within_a_few_levels(clip):
    from streamer.media.video import Frame

    with av.open(str(clip("WolfgangLanger_Pexels.mp4"))) as container:
        for i, video in zip(range(5), container.decode(video=0)):
            frame = Frame.decoded(video, float(video.time), i)
            grey, factor = frame.grey(640)  # from the luma plane, before any colour conversion
            assert (frame.width, frame.height) == (640, 360) and grey.shape == (360, 640) and factor == 1
            reference = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY).astype(int)
            assert np.array_equal(frame.image, rgb(video))
            gap = np.abs(grey.astype(int) - reference)
            assert gap.mean() < 0.6 and np.percentile(gap, 99.9) <= 2 and gap.max() <= 8  # saturated colours clip
            small, factor = frame.grey(400)
            assert small.shape == (180, 320) and factor == 2
            half = cv2.resize(reference.astype(np.uint8), (320, 180), interpolation=cv2.INTER_AREA).astype(int)
            assert np.abs(small.astype(int) - half).mean() < 0.6


def test_frames_off_the_fast_path_take_their_grey_from_the_picture():
    from streamer.media.video import Frame

    video = _frame("yuv444p")
    frame = Frame.decoded(video, 0.0, 0)
    assert np.array_equal(frame.grey(64)[0], cv2.cvtColor(rgb(video), cv2.COLOR_RGB2GRAY))
