"""Export a trained checkpoint to the runtime's model directory (ONNX files + manifest.json).

    python -m export.onnx runs/NAME/model.pt --out models/default

Checks ONNX Runtime against torch on random inputs (batch 1 and 7) and exits non-zero when the
largest absolute difference exceeds ``--tolerance``.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from streamer.runtime.assets import sha256_file

from .calibrate import load_temporal
from .networks import HEAT_STRIDE, Encoder, EncoderExport, Temporal, TemporalExport
from .train import MEAN, STD

OPSET = 17
NAME = "sbi-mobilenetv2-lstm"


def encoder_outputs(encoder: Encoder) -> list[str]:
    return ["embedding", "frame_score"] + (["heatmap"] if encoder.heat is not None else [])


def export_encoder(encoder: Encoder, size: int, path: Path) -> None:
    model = EncoderExport(encoder).eval()
    names = encoder_outputs(encoder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(path), input_names=["crops"],
                          output_names=names, opset_version=OPSET, dynamo=False,
                          dynamic_axes={"crops": {0: "n"}} | {name: {0: "n"} for name in names})


def export_temporal(temporal: Temporal, window: int, dim: int, path: Path) -> None:
    model = TemporalExport(temporal).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, window, dim),), str(path), input_names=["embeddings"],
                          output_names=["window_score"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"embeddings": {0: "b"}, "window_score": {0: "b"}})


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@torch.no_grad()
def parity(encoder: Encoder, temporal: Temporal, enc_path: Path, tmp_path: Path, size: int, window: int,
           dim: int, seed: int = 0) -> float:
    """Largest |ONNX Runtime - torch| over all outputs for batches of 1 and 7."""
    rng = np.random.default_rng(seed)
    enc_s, tmp_s = _session(enc_path), _session(tmp_path)
    enc_t, tmp_t = EncoderExport(encoder).eval(), TemporalExport(temporal).eval()
    worst = 0.0
    for n in (1, 7):
        crops = rng.normal(0, 1, (n, 3, size, size)).astype(np.float32)
        outs = enc_s.run(encoder_outputs(encoder), {"crops": crops})
        t_outs = enc_t(torch.from_numpy(crops))
        assert outs[0].shape == (n, dim) and outs[1].shape == (n,), (outs[0].shape, outs[1].shape)
        worst = max([worst] + [float(np.abs(o - t.numpy()).max()) for o, t in zip(outs, t_outs)])
        wins = rng.normal(0, 1, (n, window, dim)).astype(np.float32)
        (w_score,) = tmp_s.run(["window_score"], {"embeddings": wins})
        assert w_score.shape == (n,), w_score.shape
        worst = max(worst, float(np.abs(w_score - tmp_t(torch.from_numpy(wins)).numpy()).max()))
    return worst


def manifest(out: Path, cfg: dict, threshold: float, metrics: dict, version: str, name: str = NAME) -> dict:
    return {
        "name": name, "version": version, "input_size": cfg["size"], "crop_margin": cfg["margin"],
        "mean": list(MEAN), "std": list(STD), "embedding_dim": cfg["embedding_dim"], "window": cfg["window"],
        "stride": cfg["stride"], "threshold": round(float(threshold), 4), "uncertain_margin": 0.1,
        "files": {role: {"path": f"{role}.onnx", "sha256": sha256_file(out / f"{role}.onnx")}
                  for role in ("encoder", "temporal")},
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "opset": OPSET},
        "training": {k: cfg[k] for k in ("seed", "epochs", "variants", "freeze_blocks", "lr", "clip_variants",
                                         "regions", "strong_aug", "balanced", "weight_decay", "dropout", "target_fpr",
                                         "recipe", "steps", "batch", "heat_weight", "h264_aug", "init", "skip")
                     if k in cfg},
        "metrics": metrics,
    }


def export_checkpoint(ckpt: Path, out: Path, tolerance: float = 1e-4, version: str = "1") -> float:
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    cfg = state["config"]
    encoder = Encoder(cfg["embedding_dim"], heatmap=bool(cfg.get("heatmap")), skip=tuple(cfg.get("skip", ())))
    encoder.load_state_dict(state["encoder"])
    temporal = load_temporal(state["temporal"], cfg["embedding_dim"])
    encoder.eval(), temporal.eval()
    out.mkdir(parents=True, exist_ok=True)
    export_encoder(encoder, cfg["size"], out / "encoder.onnx")
    export_temporal(temporal, cfg["window"], cfg["embedding_dim"], out / "temporal.onnx")
    diff = parity(encoder, temporal, out / "encoder.onnx", out / "temporal.onnx", cfg["size"], cfg["window"],
                  cfg["embedding_dim"])
    old = out / "manifest.json"
    metrics = json.loads(old.read_text()).get("metrics", {}) if old.exists() else {}
    metrics = metrics | {"validation": state.get("val", {})}
    doc = manifest(out, cfg, state["threshold"], metrics, version, state.get("name", NAME))
    if encoder.heat is not None:
        doc["heatmap_size"] = cfg["size"] // HEAT_STRIDE
    if "provenance" in state:
        doc["provenance"] = state["provenance"]
    (out / "manifest.json").write_text(json.dumps(doc, indent=2))
    return diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=Path("models/default"))
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--version", default="1")
    args = ap.parse_args(argv)
    diff = export_checkpoint(args.checkpoint, args.out, args.tolerance, args.version)
    print(f"parity: max abs diff ONNX Runtime vs torch = {diff:.2e} (tolerance {args.tolerance:.0e})")
    if not diff <= args.tolerance:
        print("error: parity check failed", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/encoder.onnx, temporal.onnx, manifest.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
