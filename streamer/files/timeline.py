"""The scan timeline: building it, its JSON schema, and writing it as JSON or CSV."""
from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import TextIO

from ..core.analyzer import FrameResult, TrackSummary
from ..core.model import Manifest
from ..media.video import VideoInfo

SCHEMA_VERSION = 1
CSV_FIELDS = ["pts", "frame_index", "track_id", "x0", "y0", "x1", "y1", "detector_score",
              "frame_score", "window_score", "score", "verdict", "reason", "carried"]


def schema() -> dict:
    return json.loads(resources.files("streamer.files").joinpath("timeline.schema.json").read_text())


def build(source: str, info: VideoInfo, manifest: Manifest, frames: list[FrameResult],
          tracks: list[TrackSummary], analysed_fps: float | None) -> dict:
    model = {"name": manifest.name, "version": manifest.version, "threshold": manifest.threshold,
             "window": manifest.window, "stride": manifest.stride}
    if manifest.heatmap_size is not None:  # faces carry "heat": the grid over the crop square of this margin
        model.update(heatmap_size=manifest.heatmap_size, crop_margin=manifest.crop_margin)
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "video": {"width": info.width, "height": info.height, "fps": round(info.fps, 3),
                  "duration": info.duration, "analysed_fps": analysed_fps},
        "model": model,
        "tracks": [t.to_dict() for t in tracks],
        "frames": [f.to_dict() for f in frames],
    }


def summary(timeline: dict) -> dict:
    """The scan in one line: overall verdict (fake if any scored track is), worst score, track count.

    Tracks the quality gate refused throughout (``not_scored``) do not count; when every track is
    refused the verdict is ``not_scored`` with the reasons."""
    tracks = timeline["tracks"]
    scored = [t for t in tracks if t["verdict"] != "not_scored"]
    verdicts = {t["verdict"] for t in scored}
    overall = "fake" if "fake" in verdicts else "real" if verdicts == {"real"} else "uncertain"
    out = {"verdict": overall if scored else "not_scored" if tracks else "no faces", "tracks": len(tracks),
           "max_score": max((t["max_score"] for t in scored), default=None)}
    if tracks and not scored:
        out["reasons"] = sorted({t.get("reason") or "unknown" for t in tracks})
    return out


def write_json(timeline: dict | list[dict], path: Path) -> None:
    path.write_text(json.dumps(timeline, indent=1))


def csv_rows(timeline: dict):
    for frame in timeline["frames"]:
        for face in frame["faces"]:
            x0, y0, x1, y1 = face["box"]
            yield [frame["pts"], frame["frame_index"], face["track_id"], x0, y0, x1, y1, face["detector_score"],
                   face["frame_score"], face["window_score"], face["score"], face["verdict"], face.get("reason"),
                   int(face.get("carried", False))]


def write_csv_to(out: TextIO, timelines: list[dict], source_column: bool = False) -> None:
    """The one CSV writer: a row per face per frame; with ``source_column``, each row starts with its file."""
    writer = csv.writer(out)
    writer.writerow(["source", *CSV_FIELDS] if source_column else CSV_FIELDS)
    for timeline in timelines:
        writer.writerows([timeline["source"], *row] if source_column else row for row in csv_rows(timeline))


def write_csv(timelines: dict | list[dict], path: Path) -> None:
    """One timeline, or several (a batch: a ``source`` column first)."""
    batch = isinstance(timelines, list)
    with open(path, "w", newline="") as fh:
        write_csv_to(fh, timelines if batch else [timelines], source_column=batch)
