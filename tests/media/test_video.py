import av
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
