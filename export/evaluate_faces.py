"""The face sets' held-out groups scored as the runtime scores a photo's face.

DFDC test groups (real vs DFDC's face-swap fakes) and LFW test people (all real), cut by the runtime's
rule (``export.faceset``: the runtime's detector on the padded image, ``align_crop`` at the model's input
size). A face's evidence is the encoder's calibrated frame score, compared with the manifest threshold as
the runtime does for a still (``fake`` at or above it). Intervals resample whole DFDC groups and LFW people.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from streamer.core.model import Model

from .faceset import FaceTable, load_table
from .metrics import auc, bootstrap_ci, rate_summary, tpr_at_fpr

BATCH = 64


def frame_scores(model: Model, crops: np.ndarray) -> np.ndarray:
    return np.concatenate([model.encode(crops[i:i + BATCH])[1] for i in range(0, len(crops), BATCH)]) \
        if len(crops) else np.zeros(0, np.float32)


def dfdc_metrics(table: FaceTable, scores: np.ndarray, idx: np.ndarray, threshold: float, n_boot: int) -> dict:
    y = np.asarray([table.records[i].fake for i in idx])
    g = np.asarray([table.records[i].group for i in idx])
    lo, hi = bootstrap_ci(y, scores, n_boot, groups=g)
    return {"faces_real": int((~y).sum()), "faces_fake": int(y.sum()), "groups": int(len(set(g))),
            "frame_auc": round(auc(y, scores), 4), "frame_auc_ci95": [round(lo, 4), round(hi, 4)],
            "tpr_at_1fpr": round(tpr_at_fpr(y, scores, 0.01), 4), "tpr_at_5fpr": round(tpr_at_fpr(y, scores, 0.05), 4),
            "fakes_called_fake": rate_summary(scores[y] >= threshold, g[y], n_boot),
            "reals_called_fake": rate_summary(scores[~y] >= threshold, g[~y], n_boot)}


def lfw_metrics(table: FaceTable, scores: np.ndarray, idx: np.ndarray, threshold: float, n_boot: int) -> dict:
    g = np.asarray([table.records[i].group for i in idx])
    return {"faces": int(len(idx)), "people": int(len(set(g))),
            "called_fake": rate_summary(scores >= threshold, g, n_boot),
            "median_score": round(float(np.median(scores)), 4) if len(scores) else None}


def evaluate_faces(models: list[Model], data: Path, split: str = "test", n_boot: int = 1000) -> list[dict]:
    """Each model's figures on the same held-out faces (cut at its own input size)."""
    tables: dict[int, FaceTable] = {}
    out = []
    for model in models:
        size = model.manifest.input_size
        table = tables.setdefault(size, load_table(data, size))
        thr = model.manifest.threshold
        dfdc, lfw = table.where("dfdc", split), table.where("lfw", split)
        s_dfdc, s_lfw = frame_scores(model, table.crops[dfdc]), frame_scores(model, table.crops[lfw])
        out.append({"split": split, "threshold": thr,
                    "rule": "a face's calibrated frame score at or above the threshold (as for a photo)",
                    "dfdc": dfdc_metrics(table, s_dfdc, dfdc, thr, n_boot),
                    "lfw": lfw_metrics(table, s_lfw, lfw, thr, n_boot)})
    return out


def compact_faces(res: dict) -> dict:
    d, lf = res["dfdc"], res["lfw"]
    return {"dfdc_frame_auc": d["frame_auc"], "dfdc_tpr_at_1fpr": d["tpr_at_1fpr"],
            "dfdc_tpr_at_5fpr": d["tpr_at_5fpr"], "dfdc_fakes_called_fake": d["fakes_called_fake"]["rate"],
            "dfdc_reals_called_fake": d["reals_called_fake"]["rate"], "lfw_called_fake": lf["called_fake"]["rate"]}
