"""The model travels once through Ray's object store and is loaded once per worker process."""
from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from ..core.model import Model

_models: dict[str, Model] = {}  # per worker process: checksum of the model files -> loaded model


def model_blob(model_dir: Path | str) -> dict[str, bytes]:
    """The model directory's manifest and ONNX files, to send through the object store."""
    root = Path(model_dir)
    manifest = (root / "manifest.json").read_bytes()
    files = {"manifest.json": manifest}
    for entry in json.loads(manifest)["files"].values():
        files[entry["path"]] = (root / entry["path"]).read_bytes()
    return files


def load(blob: dict[str, bytes]) -> Model:
    """The model of ``blob``, written to a private directory and loaded on first use in this process."""
    key = hashlib.sha256(b"".join(blob[k] for k in sorted(blob))).hexdigest()
    if key not in _models:
        root = Path(tempfile.mkdtemp(prefix="dfs-model-"))
        for name, data in blob.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        _models[key] = Model(root, threads=1)
    return _models[key]
