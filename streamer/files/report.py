"""The scan report: one self-contained HTML page a newsroom can file (no external file, script or font).

Per scanned file: its sha256, size and duration, the model with its threshold, a plot of each face's
score (inline SVG), the worst moments as face crops (inline JPEG) with their scores, the quality-gate
reasons when the timeline has them, and what the score can and cannot mean, from the model card.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..core import heat
from ..media.images import read_still, snapshot
from ..media.video import file_frames, open_container, rgb
from ..runtime.assets import sha256_file
from .timeline import notes, summary

WORST_MOMENTS = 6
Progress = Callable[[float, str], None]  # (share of the page done, what it is doing)
TRACK_COLOURS = ["#4f8cff", "#c86bfa", "#2ec5d3", "#f2814b", "#9bd34f", "#f06fa8", "#e8d44d", "#8c9eff"]
VERDICT_COLOURS = {"real": "#1a8f64", "fake": "#d33a4f", "uncertain": "#b7800f", "not_scored": "#667085"}
FALLBACK_STATEMENT = (
    "The score is the model's estimate that a face shows blending artefacts of the kind it was trained to "
    "detect. It is not proof: real faces can score high (false positives) and a low score does not show that "
    "a file is authentic. Do not use the verdicts as evidence on their own.")
CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1b1f24;max-width:920px;margin:24px auto;padding:0 16px}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.2rem;margin:28px 0 8px;border-top:1px solid #ccd;padding-top:16px}
h3{font-size:1rem;margin:18px 0 6px}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{font-weight:600;color:#556}code{font-size:.85em;word-break:break-all}.muted{color:#667}
.verdict{display:inline-block;padding:2px 10px;border-radius:6px;color:#fff;font-weight:700;text-transform:uppercase}
.moments{display:flex;flex-wrap:wrap;gap:12px;list-style:none;padding:0}
.moments li{min-width:132px;font-size:.85rem}.moments img{width:128px;height:128px;object-fit:cover;border-radius:6px;
border:3px solid #ccc}.moments img.heat{margin-left:6px;border-color:#f0a020;object-fit:fill}.statement{background:#f4f6f9;border-left:4px solid #889;padding:10px 14px}
"""


def card_statement(model_dir: Path | None) -> str:
    """The model card's plain statement of what its score means: its 'Read this first' paragraph."""
    for card in ([model_dir / "README.md", model_dir.parent / "README.md"] if model_dir else []):
        if not card.is_file():
            continue
        text = card.read_text()
        match = re.search(r"\*\*Read this first\.\*\*(.+?)(?:\n\s*\n)", text, re.S)
        if match:
            plain = re.sub(r"[*`]", "", " ".join(match[1].split()))
            evidence = re.search(r"[^.]*do not use the verdicts as evidence\.", text)
            return plain + (" " + " ".join(evidence[0].split()) if evidence else "")
    return FALLBACK_STATEMENT


def colour(track_id: int) -> str:
    return TRACK_COLOURS[(max(1, track_id) - 1) % len(TRACK_COLOURS)]


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def series(timeline: dict) -> dict[int, list[tuple[float, float, int, list[float], str, str | None]]]:
    """Per track: (pts, score, frame_index, box, verdict, heat or None) of every frame it is in."""
    out: dict[int, list] = {}
    for frame in timeline["frames"]:
        for face in frame["faces"]:
            if face["score"] is None:  # not scored (quality gate): nothing to plot or rank
                continue
            out.setdefault(face["track_id"], []).append(
                (frame["pts"], face["score"], frame["frame_index"], face["box"], face["verdict"], face.get("heat")))
    return out


def worst_moments(timeline: dict, count: int = WORST_MOMENTS) -> list[dict]:
    """The highest peaks: a score no other score of the same face beats within a second either side."""
    peaks = []
    for track, points in series(timeline).items():
        times = np.array([p[0] for p in points])
        for i, (t, score, index, box, verdict, grid) in enumerate(points):
            lo, hi = np.searchsorted(times, t - 1, "left"), np.searchsorted(times, t + 1, "right")
            if all(p[1] <= score for p in points[lo:hi]):
                peaks.append({"track_id": track, "pts": t, "score": score, "frame_index": index, "box": box,
                              "verdict": verdict, "heat": grid})
    peaks.sort(key=lambda p: (-p["score"], p["pts"]))
    picked: list[dict] = []
    for p in peaks:
        if len(picked) == count:
            break
        if all(q["track_id"] != p["track_id"] or abs(q["pts"] - p["pts"]) > 1 for q in picked):
            picked.append(p)
    return picked


def _quiet(fraction: float, stage: str) -> None:
    pass


@dataclass
class Pictures:
    """The frames the moments are in, by frame index, and the scale of their pixels to the timeline's boxes."""

    images: dict[int, np.ndarray]
    scale: float = 1.0

    def box(self, moment: dict) -> list[float]:
        return [v * self.scale for v in moment["box"]]


def pictures(media: Path | None, moments: list[dict], still: bool, progress: Progress = _quiet) -> Pictures:
    """The RGB frames the moments are in; none when the file is gone."""
    if media is None or not media.is_file() or not moments:
        return Pictures({})
    images: dict[int, np.ndarray] = {}
    scale = 1.0
    if still:
        photo = read_still(media)  # as analysed; the boxes are in the photo's own pixels
        images[0], scale = photo.image, photo.scale
    else:
        wanted = {m["frame_index"]: m["pts"] for m in moments}
        images = seek_frames(media, wanted, progress)
        missing = set(wanted) - set(images)
        if missing:
            images |= decode_frames(media, missing, progress)
    return Pictures(images, scale)


def crops(pics: Pictures, moments: list[dict]) -> dict[int, bytes]:
    """JPEG crops of the moments' faces, by position in ``moments``, from their frames (``pictures``)."""
    return {i: snapshot(pics.images[m["frame_index"]], pics.box(m)) for i, m in enumerate(moments)
            if m["frame_index"] in pics.images}


def heat_crops(pics: Pictures, moments: list[dict], margin: float) -> dict[int, bytes]:
    """JPEGs of the moments' crop squares with the model's heatmap over them, for moments whose face has one."""
    return {i: heat.overlay_jpeg(pics.images[m["frame_index"]], pics.box(m), margin, m["heat"])
            for i, m in enumerate(moments) if m.get("heat") and m["frame_index"] in pics.images}


def seek_frames(media: Path, wanted: dict[int, float], progress: Progress = _quiet) -> dict[int, np.ndarray]:
    """RGB frames by index (``wanted``: index -> the timeline's pts), each decoded from the keyframe before it:
    a few GOPs, not the whole file up to the last moment. A frame whose timestamp is not found is left out."""
    images: dict[int, np.ndarray] = {}
    with open_container(str(media)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tolerance = 0.5 / float(stream.average_rate or 30)
        for done, (index, pts) in enumerate(sorted(wanted.items(), key=lambda kv: kv[1])):
            progress(done / len(wanted), "decoding the worst moments' frames")
            try:
                container.seek(int(pts / stream.time_base), stream=stream, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    if frame.time is None or frame.time > pts + tolerance:
                        break
                    if abs(round(frame.time, 4) - pts) < 1e-3:
                        images[index] = rgb(frame)
                        break
            except av.error.FFmpegError:
                continue  # left to decode_frames
    return images


def decode_frames(media: Path, wanted: set[int], progress: Progress = _quiet) -> dict[int, np.ndarray]:
    """RGB frames by index, decoding the file from its start up to the last of them."""
    images: dict[int, np.ndarray] = {}
    last = max(wanted)
    for frame in file_frames(media):
        if frame.index % 50 == 0:
            progress(frame.index / max(1, last), "decoding the video up to its worst moments")
        if frame.index in wanted:
            images[frame.index] = frame.image
        if len(images) == len(wanted) or frame.index > last:
            break
    return images


def plot_svg(timeline: dict, width: int = 860, height: int = 200) -> str:
    """Each face's score over time (a photo: one bar per face), the decision threshold dashed."""
    pad_l, pad_r, pad_t, pad_b = 36, 10, 8, 22
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    threshold = timeline["model"].get("still_threshold", timeline["model"]["threshold"])
    y = lambda s: pad_t + (1 - s) * h  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Score of each face" font-family="system-ui,sans-serif" font-size="11">',
             f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="#f7f8fa"/>']
    for s in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(s):.1f}" y2="{y(s):.1f}" stroke="#dde"/>'
                     f'<text x="4" y="{y(s) + 4:.1f}" fill="#667">{s:g}</text>')
    tracks = series(timeline)
    if timeline["video"].get("still"):
        slot = w / max(1, len(tracks))
        for i, (track, points) in enumerate(sorted(tracks.items())):
            score = points[0][1]
            x = pad_l + slot * i + slot * 0.2
            parts.append(f'<rect x="{x:.1f}" y="{y(score):.1f}" width="{slot * 0.6:.1f}" height="{h * score:.1f}" '
                         f'fill="{colour(track)}"><title>face #{track}: {score:.3f}</title></rect>'
                         f'<text x="{x:.1f}" y="{height - 6}" fill="#445">#{track} {score:.2f}</text>')
    else:
        duration = max(timeline["video"].get("duration") or 0, max((f["pts"] for f in timeline["frames"]), default=0))
        x = lambda t: pad_l + (t / duration if duration else 0) * w  # noqa: E731
        fps = timeline["video"].get("analysed_fps") or timeline["video"].get("fps") or 25
        gap = max(0.5, 3 / fps)
        for track, points in sorted(tracks.items()):
            runs, run, last = [], [], None
            for t, score, *_ in points:
                if last is not None and t - last > gap:
                    runs.append(run)
                    run = []
                run.append(f"{x(t):.1f},{y(score):.1f}")
                last = t
            runs.append(run)
            parts += [f'<polyline fill="none" stroke="{colour(track)}" stroke-width="2" points="{" ".join(r)}">'
                      f'<title>face #{track}</title></polyline>' for r in runs if r]
        parts.append(f'<text x="{pad_l}" y="{height - 6}" fill="#667">0 s</text>'
                     f'<text x="{pad_l + w - 40}" y="{height - 6}" fill="#667">{duration:.1f} s</text>')
    parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" '
                 f'stroke="#223" stroke-dasharray="5 4"><title>threshold {threshold:.3f}</title></line></svg>')
    return "".join(parts)


def quality_reasons(timeline: dict) -> Counter:
    """How often each quality-gate reason kept a face from being scored (verdict ``not_scored``)."""
    reasons: Counter = Counter()
    for frame in timeline["frames"]:
        for face in frame["faces"]:
            if face.get("verdict") == "not_scored" and face.get("reason"):
                reasons[str(face["reason"])] += 1
    return reasons


def _esc(value: object) -> str:
    return html.escape(str(value))


def _facts(timeline: dict, media: Path | None, name: str, progress: Progress = _quiet) -> str:
    video, model = timeline["video"], timeline["model"]
    still = bool(video.get("still"))
    exists = media is not None and media.is_file()
    progress(0.0, "computing the file's SHA-256")
    threshold = model.get("still_threshold", model["threshold"])
    rows = [("File", name), ("SHA-256", f"<code>{sha256_file(media)}</code>" if exists else "file not available"),
            ("Size", f"{media.stat().st_size:,} bytes" if exists else "unknown"),
            ("Kind", "photo" if still else "video"),
            ("Picture", f"{video['width']}×{video['height']}" + ("" if still else f", {video['fps']:g} fps")),
            ("Duration", "—" if still else (f"{video['duration']:.2f} s" if video.get("duration") else "unknown")),
            ("Frames analysed", str(len(timeline["frames"]))),
            *(("Note", n) for n in notes(timeline)),
            ("Model", f"{model['name']} version {model['version']}"),
            ("Threshold", f"{threshold:.4f}" + (" (frame score: a photo has no temporal window)" if still else
                                                f" (window of {model['window']} frames, stride {model['stride']})"))]
    return "<table>" + "".join(f"<tr><th>{k}</th><td>{v if k in ('SHA-256',) else _esc(v)}</td></tr>"
                               for k, v in rows) + "</table>"


def _tracks_table(timeline: dict) -> str:
    if not timeline["tracks"]:
        return "<p>No face was found.</p>"
    still = timeline["video"].get("still")
    head = "<tr><th>Face</th><th>Score</th><th>Verdict</th></tr>" if still else \
        "<tr><th>Face</th><th>Seen</th><th>Frames</th><th>Mean</th><th>Max</th><th>Verdict</th></tr>"
    rows = []
    for t in timeline["tracks"]:
        verdict = f'<span class="verdict" style="background:{VERDICT_COLOURS[t["verdict"]]}">{t["verdict"]}</span>'
        cells = [f"#{t['track_id']}", _score(t["max_score"])] if still else [
            f"#{t['track_id']}", f"{t['first_pts']:.2f}–{t['last_pts']:.2f} s", str(t["frames"]),
            _score(t["mean_score"]), _score(t["max_score"])]
        rows.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + f"<td>{verdict}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _moments(timeline: dict, media: Path | None, progress: Progress = _quiet) -> str:
    still = bool(timeline["video"].get("still"))
    progress(0.05, "finding the worst moments")
    moments = worst_moments(timeline, count=12 if still else WORST_MOMENTS)
    if not moments:
        return ""
    frames = pictures(media, moments, still, lambda f, stage: progress(0.1 + 0.9 * f, stage))
    images = crops(frames, moments)
    heated = heat_crops(frames, moments, timeline["model"].get("crop_margin", 0.25))
    items = []
    for i, m in enumerate(moments):
        img = (f'<img alt="face #{m["track_id"]}" style="border-color:{VERDICT_COLOURS[m["verdict"]]}" '
               f'src="data:image/jpeg;base64,{base64.b64encode(images[i]).decode()}">' if i in images
               else '<p class="muted">crop unavailable (the file is gone)</p>')
        if i in heated:
            img += (f'<img class="heat" alt="heatmap of face #{m["track_id"]}" title="where the model sees blending" '
                    f'src="data:image/jpeg;base64,{base64.b64encode(heated[i]).decode()}">')
        when = "" if still else f" at {m['pts']:.2f} s"
        items.append(f"<li>{img}<br>face #{m['track_id']}{when}<br><b>{m['score']:.3f}</b> {m['verdict']}</li>")
    title = "Faces" if still else "Worst moments"
    legend = ('<p class="muted">Beside each face: the model\'s heatmap over its crop; the redder a cell, the more '
              "the model sees blending there.</p>" if heated else "")
    return f'<h3>{title}</h3>{legend}<ol class="moments">{"".join(items)}</ol>'


def section(timeline: dict, media: Path | None, name: str, progress: Progress = _quiet) -> str:
    overall = summary(timeline)
    verdict = overall["verdict"]
    badge = (f'<span class="verdict" style="background:{VERDICT_COLOURS[verdict]}">{verdict}</span>'
             if verdict in VERDICT_COLOURS else f"<b>{_esc(verdict)}</b>")
    worst = f" · worst score {overall['max_score']:.3f}" if overall["max_score"] is not None else ""
    reasons = quality_reasons(timeline)
    gate = ("<h3>Quality gate</h3><ul>" + "".join(f"<li>{_esc(r)}: {n} face(s) not scored</li>"
                                                  for r, n in reasons.most_common()) + "</ul>") if reasons else ""
    return (f"<section><h2>{_esc(name)}</h2><p>Overall: {badge}{worst}</p>{_facts(timeline, media, name, progress)}"
            f"<h3>Score per face</h3>{plot_svg(timeline)}{_tracks_table(timeline)}"
            f"{_moments(timeline, media, progress)}{gate}</section>")


def failed_section(error: str, name: str) -> str:
    return (f'<section><h2>{_esc(name)}</h2><p>Overall: <span class="verdict" style="background:#777">failed'
            f"</span></p><p>This file could not be scanned: {_esc(error)}</p></section>")


def render(items: list[tuple[dict, Path | None, str]], model_dir: Path | None = None,
           progress: Progress = _quiet) -> str:
    """The whole page for (timeline, media file or None, display name) items; ``progress`` as it goes; a timeline
    ``{"error": ...}`` is a file that could not be scanned."""
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = items[0][2] if len(items) == 1 else f"{len(items)} files"
    n = len(items)
    body = "".join(failed_section(t["error"], name) if "error" in t else
                   section(t, m, name, lambda f, stage, i=i: progress((i + f) / n, stage))
                   for i, (t, m, name) in enumerate(items))
    progress(1.0, "done")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Scan report · {_esc(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>Deepfake scan report</h1>"
            f'<p class="muted">{_esc(title)} · made {made} by deepfake-streamer</p>'
            f'<h2>What the score can and cannot mean</h2><p class="statement">{_esc(card_statement(model_dir))}</p>'
            '<p class="muted">From the model card (models/README.md).</p>'
            f"{body}</body></html>")


def write_report(timelines: list[dict], out: Path, model_dir: Path | None = None) -> None:
    """CLI reports: each timeline's ``source`` is the scanned file's path (``error``: it could not be scanned)."""
    items = [(t, Path(t["source"]), Path(t["source"]).name) for t in timelines]
    out.write_text(render(items, model_dir))
