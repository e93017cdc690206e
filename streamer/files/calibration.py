"""Calibration on a site's own real footage: a threshold that calls a target share of its windows fake.

    deepfake-streamer calibrate REAL_VIDEO_OR_DIR... --target-fpr 0.01 --out DIR [--model DIR]

Every face of every real recording is analysed exactly as at run time (``Analyzer``: detection,
tracking, the face-quality gate, encoder, temporal head); each new window score is one sample. The
threshold is the lowest at which at most ``target_fpr`` of them are at or above it. The interval is a
prediction for *new* footage of the same setup: blocks of consecutive windows are resampled, the
threshold is set on each resample and its false-positive rate measured on the blocks left out.
The output directory is a complete model directory (the ONNX files copied, checksums kept) whose
manifest carries the threshold and its provenance.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.analyzer import Analyzer
from ..runtime.assets import sha256_file
from ..core.model import Model
from ..core.scoring import NOT_SCORED
from ..media.video import VIDEO_EXTENSIONS, file_frames

BLOCK = 10  # consecutive windows per bootstrap block (window stride 4: about 1.6 s at 25 fps)


class CalibrationError(ValueError):
    """The footage cannot calibrate a threshold (no files, no faces, bad target)."""


@dataclass
class FootageScores:
    path: Path
    frames: int = 0
    faces: int = 0  # face detections scored by the model
    not_scored: int = 0  # refused by the quality gate
    windows: list[list[float]] = field(default_factory=list)  # per track: window scores in order


def real_files(inputs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
        elif item.is_file():
            files.append(item)
        else:
            raise CalibrationError(f"{item}: no such file or directory")
    if not files:
        raise CalibrationError("no real videos found in " + ", ".join(map(str, inputs)))
    return files


def score_footage(model: Model, path: Path, fps: float | None = None) -> FootageScores:
    """Window scores of every track of one real recording, as the runtime computes them."""
    out = FootageScores(path)
    analyzer = Analyzer(model)
    tracks: dict[int, list[float]] = {}
    try:
        for frame in file_frames(path, fps):
            out.frames += 1
            for face in analyzer.process(frame).faces:
                if face.verdict == NOT_SCORED:
                    out.not_scored += 1
                    continue
                out.faces += 1
                if face.new_window:
                    tracks.setdefault(face.track_id, []).append(float(face.window_score))
    finally:
        analyzer.close()
    out.windows = [w for w in tracks.values() if w]
    return out


def threshold_at(scores: np.ndarray, target: float) -> float:
    """Lowest threshold with at most ``target`` of the scores at or above it."""
    s = np.sort(np.asarray(scores, np.float64))[::-1]
    k = int(np.floor(target * len(s) + 1e-9))
    return float(s[-1]) if k >= len(s) else float(np.nextafter(s[k], np.inf))


def blocks(footage: list[FootageScores], size: int = BLOCK) -> list[np.ndarray]:
    return [np.asarray(w[i:i + size]) for f in footage for w in f.windows for i in range(0, len(w), size)]


def held_out_interval(parts: list[np.ndarray], target: float, n: int = 1000, seed: int = 0
                      ) -> tuple[float, float]:
    """95 % interval of the false-positive rate on unseen blocks of a threshold set on a resample."""
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(n):
        pick = rng.integers(0, len(parts), len(parts))
        out = np.setdiff1d(np.arange(len(parts)), pick)
        if not len(out):
            continue
        t = threshold_at(np.concatenate([parts[i] for i in pick]), target)
        held = np.concatenate([parts[i] for i in out])
        rates.append(float(np.mean(held >= t)))
    if not rates:
        return float("nan"), float("nan")
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return float(lo), float(hi)


def calibrate(model: Model, inputs: list[Path], target_fpr: float, out: Path, log=print) -> dict:
    if not 0 < target_fpr < 0.5:
        raise CalibrationError("--target-fpr must be between 0 and 0.5")
    files = real_files(inputs)
    footage = []
    for path in files:
        log(f"scoring {path} ...")
        footage.append(score_footage(model, path))
    parts = [b for b in blocks(footage) if len(b)]
    if not parts:
        raise CalibrationError("no scored face windows in the footage (no faces, or all refused by the quality gate)")
    scores = np.concatenate(parts)
    threshold = threshold_at(scores, target_fpr)
    lo, hi = held_out_interval(parts, target_fpr)
    provenance = {
        "base_model": {"dir": str(model.dir.resolve()), "name": model.manifest.name,
                       "version": model.manifest.version, "threshold": model.manifest.threshold},
        "target_fpr": target_fpr,
        "files": [{"path": str(f.path.resolve()), "sha256": sha256_file(f.path), "frames": f.frames,
                   "faces": f.faces, "not_scored": f.not_scored, "windows": int(sum(len(w) for w in f.windows))}
                  for f in footage],
        "frames": sum(f.frames for f in footage), "faces": sum(f.faces for f in footage),
        "windows": int(len(scores)),
        "measured_fpr": round(float(np.mean(scores >= threshold)), 5),
        "held_out_fpr_ci95": [round(lo, 5), round(hi, 5)],
        "method": (f"threshold: lowest with <= {target_fpr:g} of the footage's window scores at or above it; "
                   f"interval: bootstrap over blocks of {BLOCK} consecutive windows, threshold set on each "
                   "resample, rate on the blocks left out"),
    }
    write_model_dir(model, out, threshold, provenance)
    return provenance | {"threshold": threshold}


def write_model_dir(model: Model, out: Path, threshold: float, provenance: dict) -> None:
    """A complete model directory: the base ONNX files copied, the manifest with the new threshold."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((model.dir / "manifest.json").read_text())
    for entry in manifest["files"].values():
        src = model.dir / entry["path"]
        if src.resolve() != (out / entry["path"]).resolve():
            shutil.copy2(src, out / entry["path"])
    manifest["threshold"] = round(float(threshold), 4)
    manifest["version"] = f"{manifest.get('version', '0')}+calibrated"
    manifest["calibration"] = provenance
    part = out / "manifest.json.part"
    part.write_text(json.dumps(manifest, indent=2))
    part.replace(out / "manifest.json")
