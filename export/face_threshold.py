"""A model's threshold, set on the face sets' validation split by the training's rule: the lowest at which at
most TARGET of the validation real faces of DFDC and of LFW (each) are called fake, here on every validation
face (training uses a sample of them), for the float or the int8 encoder. Written into ``manifest.json``:
``threshold`` for float, ``thresholds.int8`` for int8 (the runtime reads the one of the encoder it runs).

    python -m export.face_threshold MODEL_DIR [--precision float|int8] [--target 0.015] [--data DIR]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from streamer.core.model import FLOAT, INT8, Model

from .evaluate_faces import frame_scores
from .faceset import DEFAULT_DATA, FaceTable, load_table
from .metrics import operating_point

DEFAULT_TARGET = 0.015


def validation_reals(model: Model, table: FaceTable) -> dict[str, np.ndarray]:
    """The model's frame scores of the validation split's real faces, per set."""
    picks = {"dfdc_real": table.where("dfdc", "val", False), "lfw_real": table.where("lfw", "val")}
    return {k: frame_scores(model, table.crops[idx]) for k, idx in picks.items()}


def set_threshold(model_dir: Path, precision: str, target: float, data: Path) -> dict:
    """Set ``precision``'s threshold in the manifest; returns what was set and what it calls fake on validation."""
    model = Model(model_dir, precision=precision)
    reals = validation_reals(model, load_table(data, model.manifest.input_size))
    threshold = float(np.ceil(operating_point(reals, target) * 1e6) / 1e6)  # rounded up: never one more called fake
    record = {"threshold": threshold, "rule": f"at most {target:.1%} of the validation real faces of DFDC and of "
                                              "LFW (each) at or above it, on every validation face",
              "faces": {k: len(v) for k, v in reals.items()},
              "called_fake": {k: round(float(np.mean(v >= threshold)), 4) for k, v in reals.items()}}
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    if precision == FLOAT:
        manifest["threshold"] = threshold
    else:
        manifest.setdefault("thresholds", {})[precision] = threshold
    manifest.setdefault("threshold_set", {})[precision] = record
    path.write_text(json.dumps(manifest, indent=2))
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--precision", choices=(FLOAT, INT8), default=FLOAT)
    ap.add_argument("--target", type=float, default=DEFAULT_TARGET, help="largest share of real faces called fake")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared face sets")
    args = ap.parse_args(argv)
    if not 0 < args.target < 0.5:
        ap.error("--target must be between 0 and 0.5")
    print(json.dumps(set_threshold(args.model_dir, args.precision, args.target, args.data), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
