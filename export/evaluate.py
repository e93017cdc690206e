"""Evaluate an exported model directory on held-out identities (or FaceForensics++/Celeb-DF folders).

    python -m export.evaluate models/default [DATA ...] [--out DIR] [--no-manifest]

Without DATA: the test identities of the fetched assets (see ``export.data.ASSET_SPLIT``), each real
clip against (a) video SBI fakes (blend parameters frozen per clip) and (b) identity swaps from
another test identity (never used in training), clean and re-compressed (JPEG q75/q40 per frame,
H.264 CRF 23/35 through PyAV). A DATA folder laid out like FaceForensics++ (``original_sequences/``,
``manipulated_sequences/METHOD/``) or Celeb-DF (``Celeb-real``, ``YouTube-real``, ``Celeb-synthesis``)
is scored as real vs each fake kind (up to ``--max-frames`` full frames per video, the largest face).
Frame-level and window-level AUC (95 % CI by bootstrap over clips), accuracy at the manifest
threshold and EER go to ``evaluation.json``, ``roc.png`` and the manifest's ``metrics``.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from streamer.model import Model

from .augment import jpeg
from .crops import clip_crops
from .data import VIDEO_EXT, Clip, asset_sources, load_split, read_video, split_identities
from .metrics import roc, summary
from .synth import identity_swap, sample_params, self_blend_clip

Frames = list[np.ndarray]


@dataclass
class Scored:
    """Scores of one clip under one condition."""

    clip: str
    label: int
    kind: str  # "real", "sbi", "swap", or a dataset's method name
    frame_scores: np.ndarray
    window_scores: np.ndarray


def h264(frames: Frames, crf: int) -> Frames:
    """Encode and decode a clip with libx264 (yuv420p) at a constant rate factor."""
    import io

    buf = io.BytesIO()
    h, w = frames[0].shape[:2]
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for f in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(f[: h - h % 2, : w - w % 2]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        return [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]


CONDITIONS: dict[str, Callable[[Frames], Frames]] = {
    "clean": lambda fs: fs,
    "jpeg_q75": lambda fs: [jpeg(f, 75) for f in fs],
    "jpeg_q40": lambda fs: [jpeg(f, 40) for f in fs],
    "h264_crf23": lambda fs: h264(fs, 23),
    "h264_crf35": lambda fs: h264(fs, 35),
}


def score_frames(model: Model, frames: Frames, segment: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame scores (frames with a face) and window scores (T consecutive frames, stride S)."""
    m = model.manifest
    crops, ok = clip_crops(frames, m.input_size, m.crop_margin)
    if not ok.any():
        return np.zeros(0), np.zeros(0)
    emb, scores = model.encode(crops[ok])
    full = np.zeros((len(frames), m.embedding_dim), np.float32)
    full[ok] = emb
    seg = np.zeros(len(frames), int) if segment is None else segment
    starts = [s for s in range(0, len(frames) - m.window + 1, m.stride)
              if ok[s:s + m.window].all() and (seg[s:s + m.window] == seg[s]).all()]
    wins = model.temporal(np.stack([full[s:s + m.window] for s in starts])) if starts else np.zeros(0)
    return scores, wins


def synth_sets(clips: list[Clip], seed: int, sbi_draws: int = 2) -> list[tuple[str, int, str, Frames, np.ndarray]]:
    """(clip name, label, kind, frames, segment) for reals, video SBI and identity swaps."""
    rng = np.random.default_rng(seed)
    sets = []
    for k, clip in enumerate(clips):
        sets.append((clip.source, 0, "real", list(clip.regions), clip.segment))
        for d in range(sbi_draws):
            _, fakes = self_blend_clip(list(clip.regions), list(clip.landmarks), sample_params(rng))
            sets.append((f"{clip.source}/sbi{d}", 1, "sbi", fakes, clip.segment))
        donors = [c for c in clips if c.identity != clip.identity]
        if donors:
            donor = donors[int(rng.integers(len(donors)))]
            j = len(donor) // 2
            fakes = [identity_swap(r, lm, donor.regions[j], donor.landmarks[j])[0]
                     for r, lm in zip(clip.regions, clip.landmarks)]
            sets.append((f"{clip.source}/swap<{donor.identity}", 1, "swap", fakes, clip.segment))
    return sets


def metrics_for(scored: list[Scored], kinds: list[str], threshold: float, n_boot: int) -> dict:
    out = {}
    reals = [s for s in scored if s.kind == "real"]
    for kind in kinds:
        fakes = [s for s in scored if s.kind == kind]
        if not fakes or not reals:
            continue
        out[kind] = {}
        for level, attr in (("frame", "frame_scores"), ("window", "window_scores")):
            items = [(s.label, x, s.clip) for s in reals + fakes for x in getattr(s, attr)]
            if not items:
                continue
            y, x, g = (np.asarray(v) for v in zip(*items))
            out[kind][level] = summary(y, x, threshold, groups=g, n_boot=n_boot)
    return out


def per_clip(scored: list[Scored], threshold: float) -> dict:
    """Mean frame/window score of each clip and the share of its windows called fake."""
    out = {}
    for s in scored:
        if len(s.frame_scores):
            w = s.window_scores
            out[s.clip] = {"kind": s.kind, "frame_mean": round(float(s.frame_scores.mean()), 4),
                           "window_mean": round(float(w.mean()), 4) if len(w) else None,
                           "windows_fake": round(float((w >= threshold).mean()), 4) if len(w) else None}
    return out


def evaluate_assets(model: Model, seed: int, n_boot: int, conditions: list[str],
                    which: str = "test") -> tuple[dict, dict]:
    srcs = asset_sources()
    split = split_identities([s.identity for s in srcs])
    clips = load_split(srcs, split, which, log=tqdm.write)
    sets = synth_sets(clips, seed)
    results, raw = {}, {}
    for cond in conditions:
        scored = []
        for name, label, kind, frames, seg in tqdm(sets, desc=cond):
            f, w = score_frames(model, CONDITIONS[cond](frames), seg)
            scored.append(Scored(name, label, kind, f, w))
        results[cond] = metrics_for(scored, ["sbi", "swap"], model.manifest.threshold, n_boot)
        results[cond]["per_clip"] = per_clip(scored, model.manifest.threshold)
        raw[cond] = scored
    info = {"split": which, f"{which}_identities": sorted({c.identity for c in clips}),
            "clips": [c.source for c in clips], "frames": int(sum(len(c) for c in clips))}
    return {"assets": info, "conditions": results}, raw


def dataset_videos(root: Path) -> list[tuple[Path, int, str]]:
    """(video, label, kind) for FaceForensics++ / Celeb-DF layouts; plain folders are all real."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in VIDEO_EXT:
            continue
        parts = [x.lower() for x in p.relative_to(root).parts]
        if "manipulated_sequences" in parts:
            out.append((p, 1, p.relative_to(root).parts[parts.index("manipulated_sequences") + 1]))
        elif "celeb-synthesis" in parts:
            out.append((p, 1, "celeb-synthesis"))
        else:
            out.append((p, 0, "real"))
    return out


def evaluate_folder(model: Model, root: Path, n_boot: int, max_frames: int) -> dict:
    scored = []
    for path, label, kind in tqdm(dataset_videos(root), desc=root.name):
        frames, _ = read_video(path, max_frames)
        f, w = score_frames(model, frames)  # full frames, largest face: as the runtime sees them
        scored.append(Scored(str(path.relative_to(root)), label, kind, f, w))
    kinds = sorted({s.kind for s in scored} - {"real"})
    return metrics_for(scored, kinds, model.manifest.threshold, n_boot)


def plot_roc(raw: dict[str, list[Scored]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (level, attr) in zip(axes, (("frame", "frame_scores"), ("window", "window_scores"))):
        for cond, scored in raw.items():
            for kind, ls in (("sbi", "-"), ("swap", "--")):
                items = [(s.label, x) for s in scored if s.kind in ("real", kind) for x in getattr(s, attr)]
                if not items:
                    continue
                y, x = (np.asarray(v) for v in zip(*items))
                fpr, tpr, _ = roc(y, x)
                ax.plot(fpr, tpr, ls, lw=1, label=f"{kind} {cond}")
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(title=f"{level}-level ROC (held-out identities)", xlabel="false positive rate",
               ylabel="true positive rate")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compact(results: dict) -> dict:
    """AUCs (with CIs) per condition and fake kind, for the manifest."""
    out = {}
    for cond, kinds in results.get("conditions", {}).items():
        for kind, levels in kinds.items():
            if kind == "per_clip":
                continue
            for level, m in levels.items():
                out[f"{kind}_{cond}_{level}_auc"] = m["auc"]
                out[f"{kind}_{cond}_{level}_auc_ci95"] = m["auc_ci95"]
    for name, kinds in results.get("datasets", {}).items():
        for kind, levels in kinds.items():
            for level, m in levels.items():
                out[f"{name}_{kind}_{level}_auc"] = m["auc"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("data", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, help="where evaluation.json and roc.png go (default: model_dir)")
    ap.add_argument("--conditions", nargs="*", default=list(CONDITIONS), choices=list(CONDITIONS))
    ap.add_argument("--no-assets", action="store_true")
    ap.add_argument("--no-manifest", action="store_true", help="do not write metrics into manifest.json")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--max-frames", type=int, default=64, help="frames per dataset video")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="which asset identities to score; 'val' compares runs and never writes the manifest")
    args = ap.parse_args(argv)
    model = Model(args.model_dir)
    out = args.out or args.model_dir
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"model": model.manifest.name, "version": model.manifest.version,
                     "threshold": model.manifest.threshold,
                     "ci": "95% percentile bootstrap over clips (frames of a clip resampled together)"}
    if not args.no_assets:
        res, raw = evaluate_assets(model, args.seed, args.bootstrap, args.conditions, args.split)
        results |= res
        plot_roc(raw, out / "roc.png")
    if args.data:
        results["datasets"] = {str(d): evaluate_folder(model, d, args.bootstrap, args.max_frames) for d in args.data}
    (out / "evaluation.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(compact(results), indent=1))
    if not args.no_manifest and args.split == "test":
        write_metrics(args.model_dir, results)
    return 0


def write_metrics(model_dir: Path, results: dict) -> None:
    """The evaluation's AUCs into manifest.json (validation figures from training kept)."""
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"] = {"validation": manifest.get("metrics", {}).get("validation", {})} | compact(results)
    path.write_text(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
