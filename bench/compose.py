"""A long real-face test file composed from the fetched clips (cached; made once per machine).

    python bench/compose.py [--seconds 120] [OUT]

The Pexels talking head played forwards and backwards in turn (real faces throughout, no jump at the
joins), with the face-free clip cut in every ~40 s (tracks end and start again), re-encoded as
640x360 H.264 at 24 fps with a keyframe every 2 s.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamer.runtime.assets import asset_path, cache_dir  # noqa: E402

FPS, WIDTH, HEIGHT, GOP = 24, 640, 360, 48
VERSION = 1


def _frames(name: str) -> list[np.ndarray]:
    with av.open(str(asset_path(name))) as container:
        return [f.reformat(WIDTH, HEIGHT, "rgb24").to_ndarray() for f in container.decode(video=0)]


def _sequence(seconds: float) -> Iterator[np.ndarray]:
    face, empty = _frames("WolfgangLanger_Pexels.mp4"), _frames("no_face.mp4")
    total, n, turn = int(seconds * FPS), 0, 0
    while n < total:
        run = face if turn % 2 == 0 else face[::-1]
        if turn % 2 == 1:
            run = run + empty[: FPS * 2]  # two seconds without a face
        for image in run[: total - n]:
            yield image
        n += min(len(run), total - n)
        turn += 1


def compose(path: Path, seconds: float = 120.0) -> Path:
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "preset": "veryfast"}
        for i, image in enumerate(_sequence(seconds)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    tmp.replace(path)
    return path


def long_file(seconds: float = 120.0) -> Path:
    """The composed file, made on first use and kept in the asset cache."""
    path = cache_dir() / "bench" / f"composed-{int(seconds)}s-v{VERSION}.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        compose(path, seconds)
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("out", nargs="?", type=Path)
    args = ap.parse_args()
    print(compose(args.out, args.seconds) if args.out else long_file(args.seconds))
