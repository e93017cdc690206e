"""Recalibrate a saved checkpoint on its validation identities (Platt scaling, threshold).

    python -m export.recalibrate runs/NAME/model.pt [--target-fpr 0.05]

The threshold becomes the one that calls ``--target-fpr`` of the calibrated validation real windows
fake (not the equal-error point: a false alarm costs users more than a miss).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from .calibrate import calibrate_encoder, calibrate_temporal, load_temporal
from .metrics import auc, eer, threshold_at_fpr
from .networks import Encoder
from .train import Config, clip_windows, load_clips, pair_set, run_epoch_scores


def calibrate_checkpoint(path: Path, target_fpr: float | None = None) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    cfg = Config(**state["config"])
    encoder = Encoder(cfg.embedding_dim)
    encoder.load_state_dict(state["encoder"])
    head = load_temporal(state["temporal"], cfg.embedding_dim)
    clips, _ = load_clips(cfg)
    reals, fakes, _ = pair_set(cfg, clips["val"], cfg.val_variants, "val")
    z, y = run_epoch_scores(encoder, reals, fakes)
    frame = calibrate_encoder(encoder, z, y)
    wx, wy = clip_windows(cfg, encoder, clips["val"], "val")
    head.eval()
    with torch.no_grad():
        wz = head(torch.from_numpy(wx)).numpy()
    window = calibrate_temporal(head, wz, wy)
    with torch.no_grad():
        scores = torch.sigmoid(head(torch.from_numpy(wx))).numpy()
    val_eer, _ = eer(wy, scores)
    target = cfg.target_fpr if target_fpr is None else target_fpr
    threshold = threshold_at_fpr(np.asarray(scores)[np.asarray(wy) == 0], target)
    state["encoder"], state["temporal"], state["threshold"] = encoder.state_dict(), head.state_dict(), threshold
    state["val"] = state.get("val", {}) | {"window_auc": auc(wy, scores), "window_eer": val_eer,
                                           "frame_auc": auc(y, z), "calibration": {"frame": frame, "window": window}}
    torch.save(state, path)
    return state["val"] | {"threshold": threshold}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--target-fpr", type=float, help="default: the checkpoint's training setting")
    args = ap.parse_args(argv)
    print(calibrate_checkpoint(args.checkpoint, args.target_fpr))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
