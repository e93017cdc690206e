"""Binary detection metrics (label 1 = fake): ROC, AUC with bootstrap CI, EER, accuracy."""
from __future__ import annotations

import numpy as np

from streamer.files.calibration import threshold_at


def roc(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds (descending)."""
    y, s = np.asarray(labels, bool), np.asarray(scores, np.float64)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    tpr = np.r_[0.0, tp / max(y.sum(), 1)]
    fpr = np.r_[0.0, fp / max((~y).sum(), 1)]
    return fpr, tpr, np.r_[np.inf, s[last]]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    y, s = np.asarray(labels, bool), np.asarray(scores, np.float64)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = _ranks(np.r_[pos, neg])
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    uniq, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return (sums / counts)[inv]


def bootstrap_ci(labels: np.ndarray, scores: np.ndarray, n: int = 1000, seed: int = 0,
                 groups: np.ndarray | None = None) -> tuple[float, float]:
    """95 % percentile CI of the AUC, resampling items (or whole groups, e.g. clips)."""
    y, s = np.asarray(labels), np.asarray(scores)
    rng = np.random.default_rng(seed)
    keys = np.arange(len(y)) if groups is None else np.asarray(groups)
    uniq = np.unique(keys)
    members = {k: np.nonzero(keys == k)[0] for k in uniq}
    stats = []
    for _ in range(n):
        idx = np.concatenate([members[k] for k in rng.choice(uniq, len(uniq))])
        a = auc(y[idx], s[idx])
        if not np.isnan(a):
            stats.append(a)
    if not stats:
        return float("nan"), float("nan")
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the threshold where it is reached."""
    fpr, tpr, thr = roc(labels, scores)
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fpr - fnr)))
    t = float(thr[i]) if np.isfinite(thr[i]) else float(thr[min(i + 1, len(thr) - 1)])
    return float((fpr[i] + fnr[i]) / 2), t


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    y = np.asarray(labels, bool)
    return float(np.mean((np.asarray(scores) >= threshold) == y)) if len(y) else float("nan")


def summary(labels: np.ndarray, scores: np.ndarray, threshold: float, groups: np.ndarray | None = None,
            n_boot: int = 1000) -> dict:
    lo, hi = bootstrap_ci(labels, scores, n_boot, groups=groups)
    e, _ = eer(labels, scores)
    y = np.asarray(labels, bool)
    return {"auc": round(auc(labels, scores), 4), "auc_ci95": [round(lo, 4), round(hi, 4)],
            "accuracy": round(accuracy(labels, scores, threshold), 4), "eer": round(e, 4),
            "n_real": int((~y).sum()), "n_fake": int(y.sum())}


def threshold_at_fpr(real_scores: np.ndarray, target: float) -> float:
    """The lowest threshold at which at most ``target`` of the real scores are called fake (>=)."""
    if len(real_scores) == 0:
        raise ValueError("no real scores to set a threshold on")
    return threshold_at(real_scores, target)


def operating_point(real: dict[str, np.ndarray], target: float) -> float:
    """The lowest threshold at which each real set has at most ``target`` called fake."""
    return max(threshold_at_fpr(z, target) for z in real.values())


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, target: float) -> float:
    """True-positive rate at the threshold that calls at most ``target`` of the reals fake."""
    y, s = np.asarray(labels, bool), np.asarray(scores, np.float64)
    if not y.any() or y.all():
        return float("nan")
    return float(np.mean(s[y] >= threshold_at_fpr(s[~y], target)))


def grouped_rate_ci(hits: np.ndarray, groups: np.ndarray, n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile CI of a rate (mean of 0/1 ``hits``), resampling whole groups (files, people)."""
    hits, groups = np.asarray(hits, np.float64), np.asarray(groups)
    uniq = np.unique(groups)
    if len(uniq) == 0:
        return float("nan"), float("nan")
    sums = np.array([hits[groups == g].sum() for g in uniq])
    counts = np.array([(groups == g).sum() for g in uniq])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(uniq), (n, len(uniq)))
    rates = sums[idx].sum(1) / np.maximum(counts[idx].sum(1), 1)
    lo, hi = np.percentile(rates, [2.5, 97.5])
    return float(lo), float(hi)


def rate_summary(hits: np.ndarray, groups: np.ndarray, n_boot: int) -> dict:
    """A rate of 0/1 ``hits`` with its 95 % interval over ``groups`` (people, clips, DFDC groups) and its count."""
    if len(hits) == 0:
        return {"rate": None, "ci95": [None, None], "n": 0}
    lo, hi = grouped_rate_ci(hits, groups, n_boot)
    return {"rate": round(float(np.mean(hits)), 4), "ci95": [round(lo, 4), round(hi, 4)], "n": int(len(hits))}
