from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from streamer.runtime.assets import sha256_file
from streamer.core.model import Model

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"


def test_manifest_checksums_match():
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    assert {"encoder", "temporal"} <= set(manifest["files"])
    for role, entry in manifest["files"].items():
        assert sha256_file(MODEL_DIR / entry["path"]) == entry["sha256"], role
    assert manifest["metrics"], "the shipped manifest carries its evaluation"
    if "encoder_int8" in manifest["files"]:  # the int8 encoder has its own threshold, set on validation
        assert manifest["thresholds"]["int8"] and manifest["threshold_set"]["int8"]["rule"]


def test_shipped_model_loads_and_runs():
    model = Model(MODEL_DIR)
    m = model.manifest
    rng = np.random.default_rng(0)
    for n in (1, 5):
        crops = rng.integers(0, 255, (n, m.input_size, m.input_size, 3)).astype(np.uint8)
        emb, score = model.encode(crops)
        assert emb.shape == (n, m.embedding_dim) and score.shape == (n,)
        assert np.all((score >= 0) & (score <= 1))
        win = model.temporal(rng.normal(0, 1, (n, m.window, m.embedding_dim)).astype(np.float32))
        assert win.shape == (n,) and np.all((win >= 0) & (win <= 1))


def test_manifest_says_what_the_weights_were_trained_on():
    """The provenance block names every training set with its terms and checksums."""
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    prov = manifest["provenance"]
    assert prov["trained_on"], "at least one training set"
    for entry in prov["trained_on"]:
        assert entry["name"] and entry["terms"] and entry["used"]
        assert entry["sha256"] and all(len(v) == 64 for v in entry["sha256"].values())
    assert "non-commercial" in prov["use"]
    assert "test never used for a choice" in prov["splits"]


def test_heatmap_size_matches_the_encoder_output():
    import onnxruntime as ort

    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    session = ort.InferenceSession(str(MODEL_DIR / manifest["files"]["encoder"]["path"]),
                                   providers=["CPUExecutionProvider"])
    outputs = {o.name: o.shape for o in session.get_outputs()}
    if "heatmap_size" not in manifest:
        assert "heatmap" not in outputs
        return
    g = manifest["heatmap_size"]
    assert outputs["heatmap"][1:] == [1, g, g]
    assert g * 16 == manifest["input_size"]
