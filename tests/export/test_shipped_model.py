from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from streamer.runtime.assets import sha256_file
from streamer.core.model import Model

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"


def test_manifest_checksums_match():
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    for role in ("encoder", "temporal"):
        entry = manifest["files"][role]
        assert sha256_file(MODEL_DIR / entry["path"]) == entry["sha256"], role
    assert manifest["metrics"], "the shipped manifest carries its evaluation"


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
