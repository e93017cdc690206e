"""What a scan would gain by decoding only the frames other frames refer to (FFmpeg's ``skip_frame`` NONREF).

    python bench/reference_frames.py [--clip PATH] [--sampling 6/3,3/1,3/2,4/2]

Not a path `deepfake-streamer` takes: a measurement of one that was considered. On the 2-minute bench file (x264
with B-frames), one process on one thread: the CPU of decoding every frame against reference frames only; then
the scan with ``SCAN`` sampling on every frame, and with each DETECT/ENCODE sampling on the reference frames alone,
every other frame carrying the last analysed frame's faces (``carried``). Each is set against the every-frame
scan: CPU per video frame, the largest and mean score gap, box IoU and verdicts, as bench/scan_speed.py prints them.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compose import long_file  # noqa: E402
from scan_speed import accuracy  # noqa: E402

from streamer.core.analyzer import EVERY_FRAME, SCAN, Analyzer, FrameResult, Sampling  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.files import timeline  # noqa: E402
from streamer.media.video import Frame, probe, single_threaded  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.runtime.opencv import one_opencv_thread  # noqa: E402


def decode_ms(path: Path, skip: str) -> tuple[int, float]:
    """(frames out of the decoder, CPU ms per frame of the file) decoding to RGB on one thread."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        single_threaded(stream)
        stream.codec_context.skip_frame = skip
        start, n = time.process_time(), 0
        for frame in container.decode(stream):
            frame.to_ndarray(format="rgb24")
            n += 1
        return n, (time.process_time() - start) * 1000 / (stream.frames or n)


def scan(path: Path, model: Model, sampling: Sampling, skip: str) -> tuple[dict, float, int]:
    """(timeline, CPU ms per frame of the file, frames analysed): the decoded frames analysed, the others
    carrying the faces of the last analysed frame."""
    analyzer = Analyzer(model, sampling=sampling, heat=True)
    analysed: dict[int, FrameResult] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        single_threaded(stream)
        stream.codec_context.skip_frame = skip
        start, every_pts = time.process_time(), []
        for packet in container.demux(stream):
            if packet.pts is not None:
                every_pts.append(packet.pts)
            for frame in packet.decode():
                analysed[frame.pts] = analyzer.process(Frame.decoded(frame, float(frame.time), 0))
        tracks = analyzer.finish()
        cpu_ms = (time.process_time() - start) * 1000 / len(every_pts)
        time_base = stream.time_base
    analyzer.close()
    frames, last = [], None
    for i, pts in enumerate(sorted(every_pts)):
        result = analysed.get(pts)
        if result is None:
            faces = [dataclasses.replace(f, carried=f.score is not None) for f in last.faces]
            result = FrameResult(float(pts * time_base), i, last.width, last.height, faces)
        else:
            result.frame_index, last = i, result
        frames.append(result)
    return timeline.build(str(path), probe(path), model.manifest, frames, tracks, None), cpu_ms, len(analysed)


def samplings(text: str) -> list[Sampling]:
    try:
        return [Sampling(*map(int, item.split("/"))) for item in text.split(",") if item.strip()]
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError("DETECT/ENCODE pairs, comma-separated: 3/1,4/2") from exc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--clip", type=Path, help="a video file (default: the composed 2-minute file)")
    parser.add_argument("--sampling", type=samplings, default=samplings("6/3,3/1,3/2,4/2"))
    args = parser.parse_args()
    filter_native_logs()
    one_opencv_thread()
    path = args.clip or long_file()
    model = Model(model_dir(args.model))
    for skip in ("DEFAULT", "NONREF"):
        n, ms = decode_ms(path, skip)
        print(f"decode {skip:7s}: {n} frames out, {ms:.3f} ms CPU per frame of the file", flush=True)
    every, every_ms, _ = scan(path, model, EVERY_FRAME, "DEFAULT")
    print(f"every frame: {every_ms:.2f} ms CPU per frame", flush=True)
    runs = [("every frame decoded", SCAN, "DEFAULT")] + [("reference frames", s, "NONREF") for s in args.sampling]
    for label, sampling, skip in runs:
        result, ms, analysed = scan(path, model, sampling, skip)
        name = f"{label}, detect every {sampling.detect_every}, encode every {sampling.encode_every}"
        print(f"{name}: {analysed} frames analysed, {ms:.2f} ms CPU per frame", flush=True)
        print(accuracy(every, result, name), flush=True)


if __name__ == "__main__":
    main()
