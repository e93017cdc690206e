"""Where the model comes from: --model DIR, $DFS_MODEL_DIR, or the shipped default."""
from __future__ import annotations

import os
from pathlib import Path

from .model import Model, ModelError

PACKAGED_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"  # in an installed wheel
DEFAULT_MODEL_DIR = PACKAGED_MODEL_DIR if (PACKAGED_MODEL_DIR / "manifest.json").is_file() \
    else Path(__file__).resolve().parents[2] / "models" / "default"  # in a checkout


def model_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("DFS_MODEL_DIR") or DEFAULT_MODEL_DIR)


def load_model(arg: str | None, arena: bool = True) -> Model:
    path = model_dir(arg)
    if not (path / "manifest.json").is_file():
        raise ModelError(
            f"no model at {path}: pass --model DIR (or set DFS_MODEL_DIR) to a directory with manifest.json, "
            "encoder.onnx and temporal.onnx; train one with `python -m export.train` and "
            "`python -m export.onnx` (see models/README.md)")
    return Model(path, arena=arena)
