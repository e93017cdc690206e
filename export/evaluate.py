"""Evaluate an exported model directory on held-out identities (or FaceForensics++/Celeb-DF folders).

    python -m export.evaluate models/default [DATA ...] [--out DIR] [--no-manifest]
    python -m export.evaluate DIR --split val --set-threshold 0.05   # threshold from validation people
    python -m export.evaluate DIR --precisions float int8 --no-manifest --out OUT   # both encoders, same faces

Without DATA: the real clips of the asset identities of one split (``test`` by default; see
``export.data.ASSET_SPLIT``), each scored as the runtime scores it (face detection, the face-quality
gate, ``align_crop``, the encoder, windows through the temporal head, ``streamer.core.scoring``'s track
score and verdict), under deployment conditions (clean, H.264 CRF 23/35, downscale x0.5 and back,
JPEG q40, dark and backlit, skin smoothing). Fakes, made from the same clips and held out of
training: video SBI (parameters frozen per clip), identity swaps from another person of the split,
and region swaps (lower face as in lip-sync fakes, upper face/eyes) from another person.

What it reports, per condition: the share of real identities with a clip whose verdict is fake at the
manifest threshold (with a per-identity table), frame and window false-positive rates with and
without the quality gate and the share of real frames the gate refuses; per fake kind, AUC and the
true-positive rate at 5 % false positives. 95 % intervals resample identities. A DATA folder laid
out like FaceForensics++ (``original_sequences/``, ``manipulated_sequences/METHOD/``) or Celeb-DF
is scored as real vs each fake kind (up to ``--max-frames`` full frames per video, the largest face).
``--set-threshold F`` (validation split only) writes the threshold that calls F of the validation
real windows fake into the manifest.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from streamer.core.model import ENCODER_ROLES, Model
from streamer.core.quality import QualityConfig
from streamer.core.scoring import FAKE, NOT_SCORED, ScoringConfig, TrackScorer, verdict

from .augment import down_up, gamma, jpeg, smooth_skin
from .crops import crops_of, gated_faces
from .data import VIDEO_EXT, Clip, asset_sources, load_split, read_video, split_identities
from .evaluate_faces import compact_faces, evaluate_faces
from .faceset import DEFAULT_DATA, DataError
from .metrics import rate_summary, roc, summary, threshold_at_fpr, tpr_at_fpr
from .synth import identity_swap, sample_params, self_blend_clip, swap_triangles

Frames = list[np.ndarray]
FAKE_KINDS = ("sbi", "swap", "swap_lower", "swap_upper")
REGION_OF = {"swap": "hull", "swap_lower": "lower", "swap_upper": "upper"}
TARGET_FPR = 0.05  # the headline true-positive rates are read at this false-positive rate


@dataclass
class Scored:
    """Scores of one clip under one condition, with and without the face-quality gate."""

    clip: str
    identity: str
    label: int
    kind: str  # "real", a FAKE_KINDS entry, or a dataset's method name
    frame_scores: np.ndarray  # frames the gate let through
    window_scores: np.ndarray  # windows of gated frames
    frame_all: np.ndarray = field(default_factory=lambda: np.zeros(0))  # every frame with a face
    window_all: np.ndarray = field(default_factory=lambda: np.zeros(0))
    faces: int = 0  # frames with a face
    refused: dict = field(default_factory=dict)  # gate reason -> frames
    verdict: str = "no face"  # the runtime's track verdict, gated
    verdict_ungated: str = "no face"
    track_mean: float | None = None


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


def backlit(image: np.ndarray) -> np.ndarray:
    """A bright window behind the person: the face darkened (gamma 1.8), the surround brightened."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    glow = np.clip((r - 0.45) / 0.5, 0, 1)[..., None]
    dark = gamma(image, 1.8).astype(np.float32)
    return np.clip(dark * (1 - glow) + (dark * 0.4 + 200) * glow, 0, 255).astype(np.uint8)


CONDITIONS: dict[str, Callable[[Frames], Frames]] = {
    "clean": lambda fs: fs,
    "h264_crf23": lambda fs: h264(fs, 23),
    "h264_crf35": lambda fs: h264(fs, 35),
    "down_up_0.5": lambda fs: [down_up(f, 0.5) for f in fs],
    "jpeg_q40": lambda fs: [jpeg(f, 40) for f in fs],
    "dark": lambda fs: [gamma(f, 2.2) for f in fs],
    "backlit": lambda fs: [backlit(f) for f in fs],
    "skin_smoothing": lambda fs: [smooth_skin(f, 0.8) for f in fs],
}


def _windows(keep: np.ndarray, segment: np.ndarray, t: int, stride: int) -> list[int]:
    return [s for s in range(0, len(keep) - t + 1, stride)
            if keep[s:s + t].all() and (segment[s:s + t] == segment[s]).all()]


def track_verdict(emb: np.ndarray, scores: np.ndarray, model: Model, cfg: ScoringConfig) -> tuple[str, float | None]:
    """The runtime's verdict for one track: ``TrackScorer`` fed frame by frame (25 fps), as the analyzer does."""
    scorer = TrackScorer(cfg)
    for i, (e, s) in enumerate(zip(emb, scores)):
        due = scorer.add(e, s)
        scorer.update(i / 25.0, float(model.temporal(scorer.window()[None])[0]) if due else None)
    if scorer.frames == 0:
        return "no face", None
    mean = scorer.mean_score
    return verdict(mean, cfg, scorer.frames), mean


def score_clip(model: Model, frames: Frames, segment: np.ndarray | None, quality: QualityConfig,
               cfg: ScoringConfig, detected: tuple[list, list] | None = None) -> dict:
    """Everything ``Scored`` holds for one clip (frame/window scores, gate, verdicts).

    ``detected``: the clip's faces and gate reasons (``gated_faces``), when several models share them."""
    m = model.manifest
    faces, reasons = detected or gated_faces(frames, quality)
    crops, ok = crops_of(frames, faces, m.input_size, m.crop_margin)
    seg = np.zeros(len(frames), int) if segment is None else segment
    emb = np.zeros((len(frames), m.embedding_dim), np.float32)
    score = np.zeros(len(frames), np.float32)
    if ok.any():
        emb[ok], score[ok] = model.encode(crops[ok])
    gated = ok & np.array([r is None for r in reasons])
    out = {"faces": int(ok.sum()), "refused": {}}
    for r in reasons:
        if r is not None:
            out["refused"][r] = out["refused"].get(r, 0) + 1
    for tag, keep in (("", gated), ("_all", ok)):
        starts = _windows(keep, seg, m.window, m.stride)
        wins = model.temporal(np.stack([emb[s:s + m.window] for s in starts])) if starts else np.zeros(0)
        out["frame_scores" if not tag else "frame_all"] = score[keep]
        out["window_scores" if not tag else "window_all"] = wins
    out["verdict"], out["track_mean"] = track_verdict(emb[gated], score[gated], model, cfg)
    if ok.any() and not gated.any():
        out["verdict"] = NOT_SCORED  # every face refused by the quality gate
    out["verdict_ungated"], _ = track_verdict(emb[ok], score[ok], model, cfg)
    return out


def synth_sets(clips: list[Clip], seed: int, sbi_draws: int = 1, kinds: tuple[str, ...] = FAKE_KINDS
               ) -> list[tuple[str, str, int, str, Frames, np.ndarray]]:
    """(clip name, identity, label, kind, frames, segment) for reals, video SBI and (region) swaps.

    Swap donors are other people of the same split, so they are held out of training too."""
    rng = np.random.default_rng(seed)
    sets = []
    for clip in clips:
        sets.append((clip.source, clip.identity, 0, "real", list(clip.regions), clip.segment))
        for d in range(sbi_draws if "sbi" in kinds else 0):
            _, fakes = self_blend_clip(list(clip.regions), list(clip.landmarks), sample_params(rng))
            sets.append((f"{clip.source}/sbi{d}", clip.identity, 1, "sbi", fakes, clip.segment))
        donors = [c for c in clips if c.identity != clip.identity]
        triangles = swap_triangles(clip.landmarks[len(clip) // 2], clip.regions.shape[1:3])
        for kind in (k for k in kinds if k in REGION_OF):
            if not donors:
                break
            donor = donors[int(rng.integers(len(donors)))]
            j = len(donor) // 2
            fakes = [identity_swap(r, lm, donor.regions[j], donor.landmarks[j], region=REGION_OF[kind],
                                   triangles=triangles)[0] for r, lm in zip(clip.regions, clip.landmarks)]
            sets.append((f"{clip.source}/{kind}<{donor.identity}", clip.identity, 1, kind, fakes, clip.segment))
    return sets


def fake_metrics(scored: list[Scored], kinds: list[str], threshold: float, n_boot: int) -> dict:
    """Per fake kind and level: AUC (CI over identities), TPR at 5 % FPR, accuracy, EER (gated scores)."""
    out = {}
    reals = [s for s in scored if s.kind == "real"]
    for kind in kinds:
        fakes = [s for s in scored if s.kind == kind]
        if not fakes or not reals:
            continue
        out[kind] = {}
        for level, attr in (("frame", "frame_scores"), ("window", "window_scores")):
            items = [(s.label, x, s.identity) for s in reals + fakes for x in getattr(s, attr)]
            if not items:
                continue
            y, x, g = (np.asarray(v) for v in zip(*items))
            out[kind][level] = summary(y, x, threshold, groups=g, n_boot=n_boot)
            out[kind][level]["tpr_at_5fpr"] = round(tpr_at_fpr(y, x, TARGET_FPR), 4)
        caught = [s.verdict == FAKE for s in fakes]
        out[kind]["clips_called_fake"] = round(float(np.mean(caught)), 4)
    return out


def real_metrics(scored: list[Scored], threshold: float, n_boot: int) -> dict:
    """The false-positive side: identities called fake, frame/window FPR with and without the gate."""
    reals = [s for s in scored if s.kind == "real"]
    if not reals:
        return {}
    people = sorted({s.identity for s in reals})
    fake_people = np.array([any(s.verdict == FAKE for s in reals if s.identity == p) for p in people], float)
    fake_people_ungated = np.array([any(s.verdict_ungated == FAKE for s in reals if s.identity == p)
                                    for p in people], float)
    out = {"identities": len(people),
           "identities_fake": rate_summary(fake_people, np.arange(len(people)), n_boot),
           "identities_fake_ungated": rate_summary(fake_people_ungated, np.arange(len(people)), n_boot)}
    for level, gated, ungated in (("frame", "frame_scores", "frame_all"), ("window", "window_scores", "window_all")):
        for tag, attr in (("", gated), ("_ungated", ungated)):
            hits = np.concatenate([getattr(s, attr) >= threshold for s in reals])
            groups = np.concatenate([[s.identity] * len(getattr(s, attr)) for s in reals])
            out[f"{level}_fpr{tag}"] = rate_summary(hits, groups, n_boot)
    faces = sum(s.faces for s in reals)
    refused = sum(sum(s.refused.values()) for s in reals)
    out["gate_refused_share"] = round(refused / max(faces, 1), 4)
    reasons: dict[str, int] = {}
    for s in reals:
        for r, n in s.refused.items():
            reasons[r] = reasons.get(r, 0) + n
    out["gate_reasons"] = reasons
    return out


def per_identity(scored: list[Scored], threshold: float) -> dict:
    """Each real person: clips, frames, gate refusals, mean window score, windows called fake, verdict."""
    out: dict[str, dict] = {}
    for s in (s for s in scored if s.kind == "real"):
        row = out.setdefault(s.identity, {"clips": [], "faces": 0, "refused": 0, "windows": [], "verdicts": []})
        row["clips"].append(s.clip)
        row["faces"] += s.faces
        row["refused"] += sum(s.refused.values())
        row["windows"] += list(s.window_scores)
        row["verdicts"].append(s.verdict)
    table = {}
    for person, row in sorted(out.items()):
        w = np.asarray(row["windows"], float)
        table[person] = {"clips": row["clips"], "faces": row["faces"], "refused": row["refused"],
                         "window_mean": round(float(w.mean()), 4) if len(w) else None,
                         "windows_fake": round(float((w >= threshold).mean()), 4) if len(w) else None,
                         "verdict": FAKE if FAKE in row["verdicts"] else
                         ("real" if "real" in row["verdicts"] else row["verdicts"][0])}
    return table


def per_clip(scored: list[Scored], threshold: float) -> dict:
    """Mean frame/window score of each clip, the share of its windows called fake and its verdict."""
    out = {}
    for s in scored:
        if len(s.frame_scores):
            w = s.window_scores
            out[s.clip] = {"kind": s.kind, "identity": s.identity,
                           "frame_mean": round(float(s.frame_scores.mean()), 4),
                           "window_mean": round(float(w.mean()), 4) if len(w) else None,
                           "windows_fake": round(float((w >= threshold).mean()), 4) if len(w) else None,
                           "verdict": s.verdict}
    return out


def cap_clip(clip: Clip, max_frames: int) -> Clip:
    """The first ``max_frames`` frames of a clip (long videos would otherwise dominate the cost)."""
    if len(clip) <= max_frames:
        return clip
    k = max_frames
    return Clip(clip.source, clip.identity, clip.regions[:k], clip.boxes[:k], clip.keypoints[:k],
                clip.landmarks[:k], clip.segment[:k])


def evaluate_assets(models: list[Model], seed: int, n_boot: int, conditions: list[str], which: str = "test",
                    kinds: tuple[str, ...] = FAKE_KINDS, quality: QualityConfig | None = None,
                    max_clip_frames: int = 240) -> list[tuple[dict, dict]]:
    """Each model's (results, raw scores) on the same clips, fakes, conditions and face detections."""
    srcs = asset_sources()
    split = split_identities([s.identity for s in srcs])
    clips = [cap_clip(c, max_clip_frames) for c in load_split(srcs, split, which, log=tqdm.write)]
    sets = synth_sets(clips, seed, kinds=kinds)
    quality = quality or QualityConfig()
    cfgs = [ScoringConfig.from_manifest(m.manifest) for m in models]
    results: list[dict] = [{} for _ in models]
    raw: list[dict] = [{} for _ in models]
    for cond in conditions:
        scored: list[list[Scored]] = [[] for _ in models]
        for name, identity, label, kind, frames, seg in tqdm(sets, desc=cond):
            frames = CONDITIONS[cond](frames)
            detected = gated_faces(frames, quality)
            for k, (model, cfg) in enumerate(zip(models, cfgs)):
                scored[k].append(Scored(name, identity, label, kind,
                                        **score_clip(model, frames, seg, quality, cfg, detected)))
        for k, model in enumerate(models):
            thr = model.manifest.threshold
            results[k][cond] = {"real": real_metrics(scored[k], thr, n_boot),
                                "fakes": fake_metrics(scored[k], list(kinds), thr, n_boot),
                                "per_identity": per_identity(scored[k], thr), "per_clip": per_clip(scored[k], thr)}
            raw[k][cond] = scored[k]
    info = {"split": which, f"{which}_identities": sorted({c.identity for c in clips}),
            "clips": [c.source for c in clips], "frames": int(sum(len(c) for c in clips)),
            "max_clip_frames": max_clip_frames, "quality_gate": asdict(quality)}
    return [({"assets": info, "conditions": r}, w) for r, w in zip(results, raw)]


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
    scored, cfg = [], ScoringConfig.from_manifest(model.manifest)
    for path, label, kind in tqdm(dataset_videos(root), desc=root.name):
        frames, _ = read_video(path, max_frames)  # full frames, largest face: as the runtime sees them
        name = str(path.relative_to(root))
        scored.append(Scored(name, name, label, kind, **score_clip(model, frames, None, QualityConfig(), cfg)))
    kinds = sorted({s.kind for s in scored} - {"real"})
    return {"real": real_metrics(scored, model.manifest.threshold, n_boot),
            "fakes": fake_metrics(scored, kinds, model.manifest.threshold, n_boot)}


def plot_roc(raw: dict[str, list[Scored]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (level, attr) in zip(axes, (("frame", "frame_scores"), ("window", "window_scores"))):
        for cond, scored in raw.items():
            if cond not in ("clean", "h264_crf23"):
                continue
            for kind, ls in zip(FAKE_KINDS, ("-", "--", "-.", ":")):
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
    """Headline figures per condition for the manifest: real identities called fake, window FPR,
    and per fake kind the window AUC (CI) and TPR at 5 % FPR."""
    out = {}
    for cond, res in results.get("conditions", {}).items():
        real = res.get("real", {})
        if real:
            out[f"real_{cond}_identities_fake"] = real["identities_fake"]["rate"]
            out[f"real_{cond}_identities_fake_ci95"] = real["identities_fake"]["ci95"]
            out[f"real_{cond}_window_fpr"] = real["window_fpr"]["rate"]
            out[f"real_{cond}_gate_refused"] = real["gate_refused_share"]
        for kind, levels in res.get("fakes", {}).items():
            m = levels.get("window") or levels.get("frame")
            if m:
                out[f"{kind}_{cond}_window_auc"] = m["auc"]
                out[f"{kind}_{cond}_window_auc_ci95"] = m["auc_ci95"]
                out[f"{kind}_{cond}_window_tpr_at_5fpr"] = m["tpr_at_5fpr"]
    if "faces" in results:
        out |= compact_faces(results["faces"])
    for name, res in results.get("datasets", {}).items():
        for kind, levels in res.get("fakes", {}).items():
            for level, m in levels.items():
                if isinstance(m, dict):
                    out[f"{name}_{kind}_{level}_auc"] = m["auc"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("data", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, help="where evaluation.json and roc.png go (default: model_dir)")
    ap.add_argument("--conditions", nargs="*", default=list(CONDITIONS), choices=list(CONDITIONS))
    ap.add_argument("--no-assets", action="store_true")
    ap.add_argument("--faces", type=Path, default=DEFAULT_DATA, metavar="DATA",
                    help="the shared face sets (DFDC, LFW): their held-out groups are scored too (default: %(default)s)")
    ap.add_argument("--no-faces", action="store_true", help="skip the DFDC and LFW face sets")
    ap.add_argument("--no-manifest", action="store_true", help="do not write metrics into manifest.json")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--max-frames", type=int, default=64, help="frames per dataset video")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="which asset identities to score; 'val' compares runs and never writes the metrics")
    ap.add_argument("--kinds", nargs="*", default=list(FAKE_KINDS), choices=list(FAKE_KINDS))
    ap.add_argument("--also", nargs="*", type=Path, default=[], metavar="MODEL_DIR",
                    help="more models scored on the same clips and fakes (their results: OUT/NAME/evaluation.json)")
    ap.add_argument("--precisions", nargs="+", choices=list(ENCODER_ROLES), metavar="PRECISION",
                    help="score these encoders of MODEL_DIR (float, int8: see export.quantize) on the same clips and "
                         "fakes; the first's results go to OUT, the others' to OUT/PRECISION; a side-by-side table "
                         "is printed (default: the encoder the manifest selects)")
    ap.add_argument("--max-clip-frames", type=int, default=240, help="frames per real clip (long videos capped)")
    ap.add_argument("--no-gate", action="store_true", help="score every face (no face-quality gate)")
    ap.add_argument("--set-threshold", type=float, metavar="FPR",
                    help="with --split val: write the threshold calling FPR of the clean validation real windows "
                         "fake into the manifest, then evaluate with it")
    args = ap.parse_args(argv)
    if args.set_threshold is not None:
        if args.split != "val":
            ap.error("--set-threshold needs --split val: the threshold is chosen on validation people")
        set_threshold(args.model_dir, args.set_threshold, args.seed)
    own = [Model(args.model_dir, precision=p) for p in args.precisions or [None]]
    model = own[0]
    out = args.out or args.model_dir
    out.mkdir(parents=True, exist_ok=True)
    extras = [Model(d) for d in args.also]
    runs = []
    if not args.no_assets:
        runs = evaluate_assets([*own, *extras], args.seed, args.bootstrap, args.conditions, args.split,
                               tuple(args.kinds), QualityConfig(enabled=not args.no_gate), args.max_clip_frames)
    faces = [] if args.no_faces else face_runs([*own, *extras], args.faces, args.split, args.bootstrap)
    everything = []
    for k, m in enumerate([*own, *extras]):
        dest = out if k == 0 else out / (m.precision if k < len(own) else m.dir.name)
        dest.mkdir(parents=True, exist_ok=True)
        results: dict = {"model": m.manifest.name, "version": m.manifest.version, "dir": str(m.dir),
                         "threshold": m.manifest.threshold,
                         "ci": "95% percentile bootstrap over identities (all frames of a person resampled together)"}
        if runs:
            results |= runs[k][0]
            plot_roc(runs[k][1], dest / "roc.png")
        if faces:
            results["faces"] = faces[k]
        if args.data and k == 0:
            results["datasets"] = {str(d): evaluate_folder(m, d, args.bootstrap, args.max_frames) for d in args.data}
        results["encoder_precision"] = m.precision
        (dest / "evaluation.json").write_text(json.dumps(results, indent=1))
        print(f"{m.dir} ({m.precision}): " + json.dumps(compact(results), indent=1))
        everything.append((f"{m.dir.name} {m.precision}", compact(results)))
        if k == 0 and not args.no_manifest and args.split == "test":
            write_metrics(args.model_dir, results)
    if len(own) > 1:
        print(side_by_side(everything[:len(own)]))
    return 0


def face_runs(models: list[Model], data: Path, split: str, n_boot: int) -> list[dict]:
    try:
        return evaluate_faces(models, data, split, n_boot)
    except DataError as exc:
        print(f"face sets skipped: {exc}")
        return []


def side_by_side(rows: list[tuple[str, dict]]) -> str:
    """The headline figures of several runs in columns (window AUC, TPR at 5 % FPR, real window FPR, ...)."""
    keys = [k for k in rows[0][1] if not k.endswith("_ci95")]
    width = max(len(k) for k in keys)
    lines = [f"{'':<{width}}  " + "  ".join(f"{name:>16}" for name, _ in rows)]
    for key in keys:
        cells = [r.get(key) for _, r in rows]
        lines.append(f"{key:<{width}}  " + "  ".join(f"{'-' if v is None else v:>16}" for v in cells))
    return "\n".join(lines)


def set_threshold(model_dir: Path, target_fpr: float, seed: int) -> float:
    """Threshold calling ``target_fpr`` of the clean, gated validation real windows fake -> manifest."""
    model = Model(model_dir)
    srcs = asset_sources()
    clips = load_split(srcs, split_identities([s.identity for s in srcs]), "val", log=tqdm.write)
    cfg, wins = ScoringConfig.from_manifest(model.manifest), []
    for clip in tqdm(clips, desc="validation real windows"):
        wins.append(score_clip(model, list(clip.regions), clip.segment, QualityConfig(), cfg)["window_scores"])
    threshold = threshold_at_fpr(np.concatenate(wins), target_fpr)
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["threshold"] = round(float(threshold), 4)
    manifest.setdefault("metrics", {}).setdefault("validation", {})["threshold_rule"] = (
        f"{target_fpr:.0%} of the clean validation real windows (face-quality gate on) at or above it")
    path.write_text(json.dumps(manifest, indent=2))
    tqdm.write(f"threshold {threshold:.4f}: {target_fpr:.0%} of {sum(len(w) for w in wins)} validation real windows")
    return threshold


def write_metrics(model_dir: Path, results: dict) -> None:
    """The evaluation's AUCs into manifest.json (validation figures from training kept)."""
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"] = {"validation": manifest.get("metrics", {}).get("validation", {})} | compact(results)
    path.write_text(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
