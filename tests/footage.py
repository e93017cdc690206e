"""Test media made from the fetched real clips: composites and deliberately broken files."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from streamer.runtime.assets import asset_path


def read_frames(name: str, limit: int) -> list[np.ndarray]:
    with av.open(str(asset_path(name))) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == limit:
                break
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25, codec: str = "libx264") -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p" if codec != "ffv1" else "yuv444p"
        stream.time_base = Fraction(1, fps)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def side_by_side(path: Path, seconds: float = 2.0) -> Path:
    """Two different real people at once: a 1280x360 clip from two 640x360 talking heads."""
    n = int(seconds * 25)
    left = read_frames("single_face.mp4", n)
    right = read_frames("WolfgangLanger_Pexels.mp4", n)
    n = min(len(left), len(right))
    return write_video(path, [np.concatenate([left[i], right[i]], axis=1) for i in range(n)])


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = (np.sin(np.arange(44100) / 10.0) * 0.2).astype(np.float32).reshape(1, -1)
        for start in range(0, samples.shape[1] - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def tiny_video(path: Path) -> Path:
    return write_video(path, [np.full((1, 1, 3), 128, np.uint8)] * 10, codec="ffv1")


def truncated(path: Path, name: str = "WolfgangLanger_Pexels.mp4", fraction: float = 0.5) -> Path:
    data = asset_path(name).read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path
