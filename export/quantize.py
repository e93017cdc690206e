"""An int8 encoder beside the float one: ONNX Runtime static quantization (QDQ, per-channel weights),
calibrated on training faces cut as the runtime cuts them (half DFDC and LFW training crops, half the asset
training people's video frames, by default).

    python -m export.quantize MODEL_DIR [--crops 256] [--method minmax-average|minmax|entropy|percentile]
                                        [--calibration both|faces|assets] [--keep-float ...] [--select]

Writes ``MODEL_DIR/encoder.int8.onnx`` and lists it in ``manifest.json`` as ``files.encoder_int8``; unless the
calibration is ``assets`` alone it also sets the int8 encoder's own threshold on validation
(``export.face_threshold``, the training's rule). With ``--select`` the manifest's ``encoder_precision`` becomes
``int8`` (the runtime then loads the int8 encoder); without it the manifest's choice is left alone. Decide with
``python -m export.evaluate MODEL_DIR --precisions float int8``, which scores both encoders on the same faces.
The convolutions (and the residual adds and clips between them) are quantized, except those ``--keep-float``
names: ``ends`` (the first convolution, the last one before pooling and the heatmap head), ``depthwise`` and
``early`` (blocks 0-4, at the highest resolutions, where one activation range per tensor loses the most); the
two small dense heads stay float. Measured on model 4.1's validation faces: DFDC AUC 0.9206 float, 0.9094 all
int8, 0.9173 with the ends and the depthwise ones float. On model 4.2's (2,100 validation faces and 600 asset
training frames, mean |int8 - float| frame logit): 0.278 and 0.231 with those, 0.128 and 0.094 with the early
blocks float too (at +0.15 ms a crop), and 0.086 on the asset frames with half of the calibration from them;
the averaged per-batch ranges (``minmax-average``) beat plain minmax a little (0.256 vs 0.278). Weights use the
7-bit range (``reduce_range``): x86 CPUs without VNNI saturate 8-bit u8 x s8 products (measured on v2.1: the
largest frame-score error on held-out crops halves, 0.71 -> 0.34, and signed activations were no better).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

from streamer.core.model import INT8, Model
from streamer.runtime.assets import sha256_file

from .face_threshold import DEFAULT_TARGET, set_threshold
from .faceset import DEFAULT_DATA, load_table

INT8_FILE = "encoder.int8.onnx"
QUANTIZED_OPS = ["Conv", "Add", "Clip"]
CALIBRATIONS = {"faces": "DFDC/LFW", "assets": "asset-people", "both": "DFDC/LFW and asset-people"}
KEEP_FLOAT = ("ends", "depthwise", "early")
METHODS = {"minmax": CalibrationMethod.MinMax, "minmax-average": CalibrationMethod.MinMax,
           "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}
EARLY_RESIDUAL = 2
METHOD_OPTIONS = {"minmax-average": {"CalibMovingAverage": True}}


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


def calibration_crops(kind: str, data: Path, size: int, margin: float, count: int, seed: int = 0) -> np.ndarray:
    """``count`` crops of the ``kind`` (``CALIBRATIONS``) training faces, shuffled."""
    if kind == "faces":
        return faceset_crops(data, size, count, seed)
    if kind == "assets":
        return training_crops(size, margin, count, seed)
    half = count // 2
    crops = np.concatenate([faceset_crops(data, size, count - half, seed), training_crops(size, margin, half, seed)])
    return crops[np.random.default_rng(seed).permutation(len(crops))]


def _named(source: Path, out: Path) -> Path:
    """``source`` with every node named (exporters may leave names empty; exclusion goes by name)."""
    model = onnx.load(str(source))
    for i, node in enumerate(model.graph.node):
        node.name = node.name or f"{node.op_type}_{i}"
    onnx.save(model, str(out))
    return out


def _ancestors(producer: dict[str, onnx.NodeProto], tensor: str) -> set[str]:
    """Names of the nodes ``tensor`` is computed from (``producer``: each tensor's node)."""
    seen: set[str] = set()
    todo = [tensor]
    while todo:
        node = producer.get(todo.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            todo += list(node.input)
    return seen


def _before_residual(graph: onnx.GraphProto, producer: dict[str, onnx.NodeProto], k: int = EARLY_RESIDUAL) -> set[str]:
    """Names of the nodes that the ``k``-th residual add's skip input is computed from (MobileNetV2's blocks at the
    highest resolutions; k=2: blocks 0-4; ``producer``: each tensor's node)."""
    adds = [n for n in graph.node if n.op_type == "Add"]
    if len(adds) < k:
        return set()
    a, b = adds[k - 1].input[:2]
    skip = a if producer.get(a) is not None and producer[a].name in _ancestors(producer, b) else b
    return _ancestors(producer, skip)


def float_nodes(path: Path, keep: tuple[str, ...]) -> list[str]:
    """The convolutions of the encoder at ``path`` (nodes named) that ``keep`` (``KEEP_FLOAT`` names) leaves in
    float: ``ends``, the first convolution, the last before pooling and those only the heatmap reads; ``depthwise``;
    ``early``, those before the second residual block's skip."""
    graph = onnx.load(str(path)).graph
    convs = [n for n in graph.node if n.op_type == "Conv"]
    producer = {o: n for n in graph.node for o in n.output}
    out: list[str] = []
    if "ends" in keep:
        last = producer[next(n for n in graph.node if n.op_type in ("ReduceMean", "GlobalAveragePool")).input[0]]
        while last.op_type != "Conv":
            last = producer[last.input[0]]
        inputs = {i.name for i in graph.input}
        outputs = [o.name for o in graph.output]
        trunk = _ancestors(producer, outputs[0])
        heat = _ancestors(producer, "heatmap") - trunk if "heatmap" in outputs else set()
        out += [n.name for n in convs if n.input[0] in inputs or n is last or n.name in heat]
    if "early" in keep:
        early = _before_residual(graph, producer)
        out += [n.name for n in convs if n.name in early]
    if "depthwise" in keep:
        out += [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    return sorted(set(out))


def quantize(model_dir: Path, crops: np.ndarray, method: str = "minmax-average",
             keep_float: tuple[str, ...] = KEEP_FLOAT) -> Path:
    """Quantize ``model_dir``'s float encoder, calibrated on ``crops``, leaving ``keep_float`` in float; returns the
    int8 file's path."""
    model = Model(model_dir, precision="float")
    source = model_dir / model.manifest.files["encoder"]["path"]
    out = model_dir / INT8_FILE
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        prepared = _named(prepared, Path(tmp) / "named.onnx")
        quantize_static(str(prepared), str(out), Crops(model, crops), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        reduce_range=True, calibrate_method=METHODS[method], op_types_to_quantize=QUANTIZED_OPS,
                        nodes_to_exclude=float_nodes(prepared, keep_float),
                        extra_options=METHOD_OPTIONS.get(method, {}))
    return out


def register(model_dir: Path, path: Path, crops: str, method: str, select: bool,
             keep_float: tuple[str, ...] = KEEP_FLOAT) -> dict:
    """List the int8 encoder in the manifest (and choose it with ``select``); returns the manifest."""
    manifest_path = model_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["encoder_int8"] = {"path": path.name, "sha256": sha256_file(path)}
    manifest["quantization"] = {"format": "QDQ", "per_channel": True, "activations": "uint8",
                                "weights": "int8 (7-bit range)",
                                "ops": QUANTIZED_OPS, "float": list(keep_float), "calibration": f"{crops}, {method}"}
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
    ap.add_argument("--method", choices=sorted(METHODS), default="minmax-average",
                    help="activation ranges: minmax, minmax-average (per-batch ranges averaged), entropy, percentile")
    ap.add_argument("--select", action="store_true", help="make int8 the manifest's encoder_precision")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibration", choices=sorted(CALIBRATIONS), default="both",
                    help="faces: the DFDC and LFW training split (--data); assets: the asset training people "
                         "(video frames, as the runtime cuts them); both: half each")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the shared face sets (for --calibration faces or both)")
    ap.add_argument("--keep-float", nargs="*", choices=KEEP_FLOAT, default=list(KEEP_FLOAT),
                    help="convolutions left in float (default: all three kinds; none: every convolution int8)")
    args = ap.parse_args(argv)
    if args.crops < 1:
        ap.error("--crops must be >= 1")
    manifest = Model(args.model_dir, precision="float").manifest
    count = args.crops + 64  # the last 64 are held out to compare int8 with float
    crops = calibration_crops(args.calibration, args.data, manifest.input_size, manifest.crop_margin, count,
                              args.seed)
    calibration, held_out = (crops[:-64], crops[-64:]) if len(crops) > 128 else (crops, crops)
    keep = tuple(args.keep_float)
    path = quantize(args.model_dir, calibration, args.method, keep)
    described = f"{len(calibration)} {CALIBRATIONS[args.calibration]} training crops"
    written = register(args.model_dir, path, described, args.method, args.select, keep)
    score_diff, emb_diff = agreement(args.model_dir, held_out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; calibrated on {described}, {args.method}); "
          f"on {len(held_out)} other training crops: largest frame-score difference "
          f"{score_diff:.4f}, embedding {emb_diff:.4f}; manifest encoder_precision: "
          f"{INT8 if args.select else manifest.encoder_precision}")
    if args.calibration != "assets":
        target = float(written.get("training", {}).get("target_fpr", DEFAULT_TARGET))
        record = set_threshold(args.model_dir, INT8, target, args.data)
        print(f"int8 threshold {record['threshold']:.4f} (validation: {record['rule']}; called fake "
              f"{record['called_fake']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
