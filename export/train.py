"""Train the detector: stage 1 the crop encoder on real/SBI pairs, stage 2 the LSTM on clip windows.

    python -m export.train --out runs/NAME [--data FOLDER ...] [--epochs 8] [--size 128]

Seeded; every epoch writes ``checkpoint.pt`` (rerunning the command resumes), ``log.json``,
``log.csv`` and ``curves.png``; the result is ``model.pt`` for ``python -m export.onnx``.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from streamer.runtime.assets import asset_path, cache_dir

from .crops import clip_crops, sbi_pairs
from .data import Clip, Source, asset_sources, folder_sources, load_split, split_identities
from .calibrate import calibrate_encoder, calibrate_temporal
from .metrics import auc, eer, threshold_at_fpr
from .networks import Encoder, Temporal
from .synth import sample_params, self_blend_clip

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@dataclass
class Config:
    out: str
    data: list[str] = field(default_factory=list)
    no_assets: bool = False
    size: int = 128
    margin: float = 0.25
    embedding_dim: int = 128
    window: int = 8
    stride: int = 4
    seed: int = 0
    variants: int = 8  # SBI pairs per training frame
    val_variants: int = 4
    h264_aug: float = 0.0  # share of pairs coded with H.264 (intra) instead of JPEG
    regions: bool = False  # SBI of face parts (mouth, lower face, eyes, upper face, nose) besides the hull
    strong_aug: bool = False  # gamma, blur, sharpening, skin smoothing in the paired augmentation
    balanced: bool = False  # sample training pairs so every identity weighs the same per epoch
    weight_decay: float = 1e-4
    dropout: float = 0.2
    keep_last: bool = False  # ship the last stage-1 epoch instead of the best validation epoch
    video_step: int = 2  # use every n-th frame of real videos in stage 1
    still_step: int = 4  # and of still pseudo-clips
    epochs: int = 8
    batch_pairs: int = 16
    lr: float = 4e-4
    freeze_blocks: int = 4
    clip_variants: int = 3  # video-SBI parameter draws per clip in stage 2
    temporal_epochs: int = 15
    threads: int = 2
    target_fpr: float = 0.05  # the threshold lets this share of validation real windows be called fake


def seed_all(seed: int) -> None:
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_tensor(crops: np.ndarray, dev: torch.device) -> torch.Tensor:
    x = torch.from_numpy(crops).to(dev).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=dev).view(1, 3, 1, 1)
    return (x - mean) / std


# --- data ---

def sources(cfg: Config) -> list[Source]:
    found = [] if cfg.no_assets else asset_sources()
    for folder in cfg.data:
        found += folder_sources(Path(folder))
    return found


def load_clips(cfg: Config) -> tuple[dict[str, list[Clip]], dict[str, str]]:
    srcs = sources(cfg)
    split = split_identities([s.identity for s in srcs], seed=cfg.seed)
    return {w: load_split(srcs, split, w, log=tqdm.write) for w in ("train", "val")}, split


def _key(cfg: Config, clips: list[Clip], extra: str) -> str:
    text = json.dumps([cfg.size, cfg.margin, cfg.seed, extra, [(c.source, len(c)) for c in clips]])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


PairSet = tuple[np.ndarray, np.ndarray, np.ndarray]  # reals, fakes, identity index of each pair


def pair_set(cfg: Config, clips: list[Clip], variants: int, tag: str) -> PairSet:
    """Cached stage-1 crops: (reals, fakes, identities) with one shared augmentation per pair."""
    extra = f"{variants}{cfg.video_step}{cfg.still_step}" + (f"h{cfg.h264_aug}" if cfg.h264_aug else "")
    extra += ("r" if cfg.regions else "") + ("s" if cfg.strong_aug else "")
    path = cache_dir() / "train" / f"pairs_{tag}_{_key(cfg, clips, extra)}.npz"
    if path.exists():
        z = np.load(path)
        return z["reals"], z["fakes"], z["identities"]
    rng = np.random.default_rng(cfg.seed + (tag == "val"))
    names = sorted({c.identity for c in clips})
    reals, fakes, ids = [], [], []
    for clip in tqdm(clips, desc=f"SBI pairs ({tag})"):
        step = cfg.video_step if not clip.source.split("#")[-1].isdigit() else cfg.still_step
        r, f = sbi_pairs(clip, step, variants, cfg.size, cfg.margin, rng, cfg.h264_aug, cfg.regions, cfg.strong_aug)
        reals.append(r), fakes.append(f), ids.append(np.full(len(r), names.index(clip.identity)))
    reals, fakes, identities = np.concatenate(reals), np.concatenate(fakes), np.concatenate(ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, reals=reals, fakes=fakes, identities=identities)
    return reals, fakes, identities


def epoch_order(identities: np.ndarray, balanced: bool, rng: np.random.Generator | None = None) -> np.ndarray:
    """Pair indices for one training epoch: a permutation, or (``balanced``) as many draws with
    every identity equally likely, so people with long videos do not dominate."""
    rng = rng or np.random.default_rng(np.random.randint(1 << 31))
    if not balanced:
        return rng.permutation(len(identities))
    _, inverse, counts = np.unique(identities, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return rng.choice(len(identities), size=len(identities), p=weights / weights.sum())


# --- stage 1 ---

def run_epoch(model: Encoder, pairs: PairSet, opt: torch.optim.Optimizer | None,
              cfg: Config, desc: str) -> tuple[float, float]:
    """One pass over pairs (training when ``opt`` is given); mean loss and frame AUC."""
    dev = device()
    reals, fakes, identities = pairs
    order = epoch_order(identities, cfg.balanced) if opt else np.arange(len(reals))
    losses, scores, labels = [], [], []
    loss_fn = nn.BCEWithLogitsLoss()
    model.train(opt is not None)
    if opt is not None:
        model.freeze_blocks(cfg.freeze_blocks)
    bs = cfg.batch_pairs
    for start in tqdm(range(0, len(order), bs), desc=desc, leave=False):
        idx = order[start:start + bs]
        x = to_tensor(np.concatenate([reals[idx], fakes[idx]]), dev)
        if opt is not None and random.random() < 0.5:
            x = x.flip(3)
        y = torch.cat([torch.zeros(len(idx)), torch.ones(len(idx))]).to(dev)
        with torch.set_grad_enabled(opt is not None):
            _, logit = model(x)
            loss = loss_fn(logit, y)
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(loss.item())
        scores.append(logit.detach().cpu().numpy()), labels.append(y.cpu().numpy())
    return float(np.mean(losses)), auc(np.concatenate(labels), np.concatenate(scores))


@torch.no_grad()
def run_epoch_scores(model: Encoder, reals: np.ndarray, fakes: np.ndarray, *_) -> tuple[np.ndarray, np.ndarray]:
    """Frame logits and labels of a pair set (eval mode)."""
    model.eval()
    dev = device()
    z = np.concatenate([model(to_tensor(x[i:i + 64], dev))[1].cpu().numpy()
                        for x in (reals, fakes) for i in range(0, len(x), 64)])
    return z, np.r_[np.zeros(len(reals)), np.ones(len(fakes))]


def train_encoder(cfg: Config, out: Path, data: dict[str, PairSet]) -> Encoder:
    dev = device()
    model = Encoder(cfg.embedding_dim, cfg.dropout)
    model.load_imagenet(asset_path("mobilenet_v2-b0353104.pth"))
    model.to(dev)
    model.freeze_blocks(cfg.freeze_blocks)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    log, first = load_checkpoint(out, model, opt, sched)
    for epoch in range(first, cfg.epochs):
        t0 = time.time()
        tr_loss, tr_auc = run_epoch(model, data["train"], opt, cfg, f"stage 1 epoch {epoch + 1}/{cfg.epochs}")
        va_loss, va_auc = run_epoch(model, data["val"], None, cfg, "validate")
        sched.step()
        log.append({"stage": 1, "epoch": epoch + 1, "train_loss": tr_loss, "train_auc": tr_auc,
                    "val_loss": va_loss, "val_auc": va_auc, "seconds": round(time.time() - t0, 1)})
        tqdm.write(json.dumps(log[-1]))
        save_checkpoint(out, model, opt, sched, log, epoch + 1)
        if va_auc >= max(r["val_auc"] for r in log if r["stage"] == 1):
            torch.save(model.state_dict(), out / "best_encoder.pt")
        write_log(out, log)
    if not cfg.keep_last and (out / "best_encoder.pt").exists():  # the best validation epoch
        model.load_state_dict(torch.load(out / "best_encoder.pt", map_location=dev, weights_only=True))
        best = max((r for r in log if r["stage"] == 1), key=lambda r: r["val_auc"])
        tqdm.write(f"using the encoder of epoch {best['epoch']} (val frame AUC {best['val_auc']:.4f})")
    return model


def save_checkpoint(out: Path, model: Encoder, opt, sched, log: list[dict], epoch: int) -> None:
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "log": log,
             "epoch": epoch, "rng": (random.getstate(), np.random.get_state(), torch.get_rng_state())}
    torch.save(state, out / "checkpoint.tmp")
    (out / "checkpoint.tmp").replace(out / "checkpoint.pt")


def load_checkpoint(out: Path, model: Encoder, opt, sched) -> tuple[list[dict], int]:
    path = out / "checkpoint.pt"
    if not path.exists():
        return [], 0
    state = torch.load(path, map_location=device(), weights_only=False)
    model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"]), sched.load_state_dict(state["sched"])
    random.setstate(state["rng"][0]), np.random.set_state(state["rng"][1]), torch.set_rng_state(state["rng"][2])
    tqdm.write(f"resuming after epoch {state['epoch']}")
    return state["log"], state["epoch"]


# --- stage 2 ---

@torch.no_grad()
def embed(model: Encoder, crops: np.ndarray, batch: int = 64) -> np.ndarray:
    model.eval()
    dev = device()
    out = [model(to_tensor(crops[i:i + batch], dev))[0].cpu().numpy() for i in range(0, len(crops), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.project.out_features), np.float32)


def windows(ok: np.ndarray, segment: np.ndarray, t: int, stride: int) -> list[int]:
    """Start indices of windows of ``t`` consecutive frames with a face, inside one segment."""
    starts = []
    for s in range(0, len(ok) - t + 1, stride):
        if ok[s:s + t].all() and (segment[s:s + t] == segment[s]).all():
            starts.append(s)
    return starts


def clip_windows(cfg: Config, model: Encoder, clips: list[Clip], tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Embedding windows (N, T, D) and labels from real clips and frozen-parameter video SBI."""
    rng = np.random.default_rng(cfg.seed + 7 + (tag == "val"))
    xs, ys = [], []
    for clip in tqdm(clips, desc=f"clip windows ({tag})"):
        for v in range(cfg.clip_variants):
            reals, fakes = self_blend_clip(list(clip.regions), list(clip.landmarks), sample_params(rng))
            for label, frames in ((0, reals), (1, fakes)):
                crops, ok = clip_crops(frames, cfg.size, cfg.margin)
                emb = embed(model, crops)
                for s in windows(ok, clip.segment, cfg.window, cfg.stride if label or v == 0 else cfg.stride * 2):
                    xs.append(emb[s:s + cfg.window]), ys.append(label)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.float32)


def train_temporal(cfg: Config, encoder: Encoder, data: dict[str, tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[Temporal, list]:
    """LSTM correction on top of frame-logit averaging; the epoch with the best val window AUC wins."""
    torch.manual_seed(cfg.seed)
    head = Temporal(cfg.embedding_dim)
    head.frame.load_state_dict(encoder.classify.state_dict())
    head.frame.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in head.parameters() if p.requires_grad], lr=5e-4, weight_decay=1e-2)
    x, y = (torch.from_numpy(a) for a in data["train"])
    vx, vy = data["val"]
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([(y == 0).sum() / max((y == 1).sum(), 1)]))
    noise = 0.3 * x.std().item()

    def val_auc() -> float:
        head.eval()
        with torch.no_grad():
            return auc(vy, head(torch.from_numpy(vx)).numpy())

    best = (val_auc(), 0, {k: v.clone() for k, v in head.state_dict().items()})
    log = [{"stage": 2, "epoch": 0, "train_loss": float("nan"), "val_auc": best[0]}]
    for epoch in range(cfg.temporal_epochs):
        head.train()
        perm = torch.randperm(len(x))
        losses = []
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            xb = x[idx] + noise * torch.randn_like(x[idx])
            loss = loss_fn(head(xb), y[idx])
            opt.zero_grad(), loss.backward(), opt.step()
            losses.append(loss.item())
        log.append({"stage": 2, "epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_auc": val_auc()})
        if log[-1]["val_auc"] > best[0]:
            best = (log[-1]["val_auc"], epoch + 1, {k: v.clone() for k, v in head.state_dict().items()})
    head.load_state_dict(best[2])
    tqdm.write(f"temporal head: epoch {best[1]} (0 = frame-logit mean), val window AUC {best[0]:.4f}")
    return head, log


# --- logs ---

def write_log(out: Path, log: list[dict]) -> None:
    (out / "log.json").write_text(json.dumps(log, indent=1))
    keys = sorted({k for row in log for k in row})
    with open(out / "log.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, keys)
        writer.writeheader(), writer.writerows(log)
    plot_log(out, log)


def plot_log(out: Path, log: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for stage, ls in ((1, "-"), (2, "--")):
        rows = [r for r in log if r["stage"] == stage]
        if not rows:
            continue
        ep = [r["epoch"] for r in rows]
        axes[0].plot(ep, [r["train_loss"] for r in rows], ls, label=f"stage {stage} train")
        if "val_loss" in rows[0]:
            axes[0].plot(ep, [r["val_loss"] for r in rows], ls, label=f"stage {stage} val")
        if "train_auc" in rows[0]:
            axes[1].plot(ep, [r["train_auc"] for r in rows], ls, label=f"stage {stage} train (frame)")
        axes[1].plot(ep, [r["val_auc"] for r in rows], ls, label=f"stage {stage} val")
    axes[0].set(title="loss", xlabel="epoch"), axes[1].set(title="AUC", xlabel="epoch")
    axes[0].legend(), axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=90)
    plt.close(fig)


def parse(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Config(out="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", nargs="*", default=[], help="folders of real videos/images (identity = sub-folder)")
    ap.add_argument("--no-assets", action="store_true", help="train on --data only")
    for name in ("size", "epochs", "variants", "seed", "freeze_blocks", "window", "stride", "temporal_epochs",
                 "threads", "batch_pairs", "clip_variants"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    for name in ("lr", "h264_aug", "weight_decay", "dropout", "target_fpr"):
        ap.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    ap.add_argument("--regions", action="store_true", help="SBI of face parts besides the whole hull")
    ap.add_argument("--strong-aug", action="store_true", help="gamma/blur/sharpen/skin smoothing, paired")
    ap.add_argument("--balanced", action="store_true", help="identity-balanced sampling of training pairs")
    ap.add_argument("--keep-last", action="store_true", help="use the last stage-1 epoch, not the best")
    for name in ("video_step", "still_step", "val_variants"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    return Config(**vars(ap.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    seed_all(cfg.seed)
    torch.set_num_threads(cfg.threads)
    clips, split = load_clips(cfg)
    pairs = {"train": pair_set(cfg, clips["train"], cfg.variants, "train"),
             "val": pair_set(cfg, clips["val"], cfg.val_variants, "val")}
    tqdm.write(f"stage 1: {len(pairs['train'][0])} train pairs, {len(pairs['val'][0])} val pairs")
    encoder = train_encoder(cfg, out, pairs)
    encoder.cpu() if device().type == "cpu" else None
    log = json.loads((out / "log.json").read_text()) if (out / "log.json").exists() else []
    stage1 = [r for r in log if r["stage"] == 1]
    best_file = not cfg.keep_last and (out / "best_encoder.pt").exists()
    used = max(stage1, key=lambda r: r["val_auc"]) if best_file else stage1[-1]
    if cfg.temporal_epochs > 0:
        head, threshold, val = lstm_head(cfg, out, encoder, clips, pairs, stage1)
    else:
        head, threshold, val = mean_head(cfg, encoder, pairs)
    val["encoder_epoch"] = used["epoch"]
    torch.save({"encoder": encoder.state_dict(), "temporal": head.state_dict(), "config": asdict(cfg),
                "split": split, "threshold": threshold, "val": val}, out / "model.pt")
    tqdm.write(f"wrote {out / 'model.pt'}: {json.dumps(val)}, threshold {threshold:.3f}")
    return 0


def lstm_head(cfg: Config, out: Path, encoder: Encoder, clips: dict, pairs: dict, stage1: list[dict]
              ) -> tuple[Temporal, float, dict]:
    """Stage 2: the frame-logit mean plus a trained LSTM correction, calibrated on validation windows."""
    wins = {w: clip_windows(cfg, encoder, clips[w], w) for w in ("train", "val")}
    tqdm.write(f"stage 2: {len(wins['train'][0])} train windows, {len(wins['val'][0])} val windows")
    head, t_log = train_temporal(cfg, encoder, wins)
    write_log(out, stage1 + t_log)
    z, y = run_epoch_scores(encoder, *pairs["val"][:2])
    frame_cal = calibrate_encoder(encoder, z, y)
    head.eval()
    with torch.no_grad():
        window_cal = calibrate_temporal(head, head(torch.from_numpy(wins["val"][0])).numpy(), wins["val"][1])
        val_scores = torch.sigmoid(head(torch.from_numpy(wins["val"][0]))).numpy()
    val_eer, _ = eer(wins["val"][1], val_scores)
    threshold = threshold_at_fpr(val_scores[wins["val"][1] == 0], cfg.target_fpr)
    val = {"window_auc": auc(wins["val"][1], val_scores), "window_eer": val_eer, "frame_auc": auc(y, z),
           "threshold_rule": f"{cfg.target_fpr:.0%} of validation real windows at or above it",
           "calibration": {"frame": frame_cal, "window": window_cal}}
    return head, threshold, val


def mean_head(cfg: Config, encoder: Encoder, pairs: dict) -> tuple[Temporal, float, dict]:
    """No stage 2 (``--temporal-epochs 0``): the window score is the mean of the calibrated frame
    logits (the LSTM correction stays at zero). The threshold here is the target share of the
    validation real frames; ``export.evaluate --set-threshold`` sets it on run-time windows."""
    z, y = run_epoch_scores(encoder, *pairs["val"][:2])
    a, b = calibrate_encoder(encoder, z, y)
    head = Temporal(cfg.embedding_dim)
    head.frame.load_state_dict(encoder.classify.state_dict())
    p = 1 / (1 + np.exp(-(a * z + b)))
    threshold = threshold_at_fpr(p[y == 0], cfg.target_fpr)
    val = {"frame_auc": auc(y, z), "frame_eer": eer(y, p)[0], "temporal": "mean of frame logits (no LSTM)",
           "threshold_rule": f"{cfg.target_fpr:.0%} of validation real frames at or above it",
           "calibration": {"frame": [a, b], "window": [1.0, 0.0]}}
    return head, threshold, val


if __name__ == "__main__":
    raise SystemExit(main())
