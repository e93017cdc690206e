"""An int8 encoder beside the float one: ONNX Runtime static quantization (QDQ, per-channel weights),
calibrated on training face crops (the DFDC and LFW training split by default), cut as the runtime cuts them.

    python -m export.quantize MODEL_DIR [--crops 256] [--method minmax|entropy|percentile] [--select]

Writes ``MODEL_DIR/encoder.int8.onnx`` and lists it in ``manifest.json`` as ``files.encoder_int8``. With
``--select`` the manifest's ``encoder_precision`` becomes ``int8`` (the runtime then loads the int8 encoder);
without it the manifest's choice is left alone. Decide with ``python -m export.evaluate MODEL_DIR
--precisions float int8``, which scores both encoders on the same faces. The convolutions (and the residual
adds and clips between them) are quantized; the two small dense heads stay float. Weights use the 7-bit
range (``reduce_range``): x86 CPUs without VNNI saturate 8-bit u8 x s8 products (measured on v2.1: the
largest frame-score error on held-out crops halves, 0.71 -> 0.34, and signed activations were no better).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

from streamer.core.model import INT8, Model
from streamer.runtime.assets import sha256_file

from .faceset import DEFAULT_DATA, load_table

INT8_FILE = "encoder.int8.onnx"
QUANTIZED_OPS = ["Conv", "Add", "Clip"]
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}


class Crops(CalibrationDataReader):
    """Normalised crops in batches of ``batch``, as ``Model.encode`` feeds them."""

    def __init__(self, model: Model, crops: np.ndarray, batch: int = 8):
        self._batches = iter([model.preprocess(crops[i:i + batch]) for i in range(0, len(crops), batch)])

    def get_next(self) -> dict | None:
        batch = next(self._batches, None)
        return None if batch is None else {"crops": batch}


def training_crops(size: int, margin: float, count: int, seed: int = 0) -> np.ndarray:
    """``count`` crops (N,S,S,3) of the training split's asset people, spread evenly over their clips."""
    from .crops import clip_crops
    from .data import asset_sources, load_split, split_identities

    sources = asset_sources()
    clips = load_split(sources, split_identities([s.identity for s in sources]), "train", log=lambda *_: None)
    if not clips:
        raise SystemExit("no training clips: run `python -m streamer.assets` first")
    per_clip = max(1, -(-count // len(clips)))
    rng = np.random.default_rng(seed)
    found = []
    for clip in clips:
        picks = np.sort(rng.choice(len(clip), min(per_clip, len(clip)), replace=False))
        crops, ok = clip_crops([clip.regions[i] for i in picks], size, margin)
        found.append(crops[ok])
    crops = np.concatenate(found)
    return crops[rng.permutation(len(crops))[:count]]


def faceset_crops(data: Path, size: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` crops of the face sets' training split (DFDC real, DFDC fake and LFW in equal shares), cut by the
    runtime's rule (``python -m export.faceset``): the faces a model trained on them sees."""
    table = load_table(data, size)
    rng = np.random.default_rng(seed)
    pools = [table.where("dfdc", "train", False), table.where("dfdc", "train", True), table.where("lfw", "train")]
    picks = np.concatenate([rng.choice(p, -(-count // len(pools)), replace=False) for p in pools])
    return table.crops[rng.permutation(picks)[:count]]


def quantize(model_dir: Path, crops: np.ndarray, method: str = "minmax") -> Path:
    """Quantize ``model_dir``'s float encoder, calibrated on ``crops``; returns the int8 file's path."""
    model = Model(model_dir, precision="float")
    source = model_dir / model.manifest.files["encoder"]["path"]
    out = model_dir / INT8_FILE
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(out), Crops(model, crops), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        reduce_range=True, calibrate_method=METHODS[method], op_types_to_quantize=QUANTIZED_OPS)
    return out


def register(model_dir: Path, path: Path, crops: str, method: str, select: bool) -> dict:
    """List the int8 encoder in the manifest (and choose it with ``select``); returns the manifest."""
    manifest_path = model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["encoder_int8"] = {"path": path.name, "sha256": sha256_file(path)}
    manifest["quantization"] = {"format": "QDQ", "per_channel": True, "activations": "uint8",
                                "weights": "int8 (7-bit range)",
                                "ops": QUANTIZED_OPS, "calibration": f"{crops}, {method}"}
    if select:
        manifest["encoder_precision"] = INT8
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def agreement(model_dir: Path, crops: np.ndarray) -> tuple[float, float]:
    """Largest |int8 - float| frame score and embedding difference on ``crops``."""
    fp, q = Model(model_dir, precision="float"), Model(model_dir, precision=INT8)
    (e0, s0), (e1, s1) = fp.encode(crops), q.encode(crops)
    return float(np.abs(s0 - s1).max()), float(np.abs(e0 - e1).max())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--crops", type=int, default=256, help="calibration crops from the training people")
    ap.add_argument("--method", choices=sorted(METHODS), default="minmax")
    ap.add_argument("--select", action="store_true", help="make int8 the manifest's encoder_precision")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibration", choices=("faces", "assets"), default="faces",
                    help="faces: the DFDC and LFW training split (--data); assets: the asset training people")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared face sets (for --calibration faces)")
    args = ap.parse_args(argv)
    if args.crops < 1:
        ap.error("--crops must be >= 1")
    manifest = Model(args.model_dir, precision="float").manifest
    count = args.crops + 64  # the last 64 are held out to compare int8 with float
    if args.calibration == "faces":
        crops = faceset_crops(args.data, manifest.input_size, count, args.seed)
    else:
        crops = training_crops(manifest.input_size, manifest.crop_margin, count, args.seed)
    calibration, held_out = (crops[:-64], crops[-64:]) if len(crops) > 128 else (crops, crops)
    path = quantize(args.model_dir, calibration, args.method)
    register(args.model_dir, path, f"{len(calibration)} {args.calibration} training crops", args.method, args.select)
    score_diff, emb_diff = agreement(args.model_dir, held_out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; calibrated on {len(calibration)} {args.calibration} "
          f"training crops, {args.method}); on {len(held_out)} other training crops: largest frame-score difference "
          f"{score_diff:.4f}, embedding {emb_diff:.4f}; manifest encoder_precision: "
          f"{INT8 if args.select else manifest.encoder_precision}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
