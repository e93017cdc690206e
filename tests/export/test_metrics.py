from __future__ import annotations

import numpy as np

from export.metrics import auc, bootstrap_ci, eer, summary


def test_auc_known_values():
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert abs(auc([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9]) - 0.75) < 1e-9


def test_eer_and_ci():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200), np.ones(200)]
    s = np.r_[rng.normal(0, 1, 200), rng.normal(2, 1, 200)]
    e, t = eer(y, s)
    assert 0.1 < e < 0.25 and 0.5 < t < 1.5
    lo, hi = bootstrap_ci(y, s, n=200)
    assert lo < auc(y, s) < hi
    m = summary(y, s, t, groups=np.arange(400) // 20, n_boot=100)
    assert m["n_real"] == 200 and m["auc_ci95"][0] <= m["auc"] <= m["auc_ci95"][1]


def test_platt_calibration_recovers_log_odds():
    from export.calibrate import platt

    rng = np.random.default_rng(0)
    z = np.r_[rng.normal(-1, 1, 4000), rng.normal(1, 1, 4000)]  # true log-odds: 2 z
    y = np.r_[np.zeros(4000), np.ones(4000)]
    a, b = platt(z, y)
    assert abs(a - 2.0) < 0.2 and abs(b) < 0.15
    a100, b100 = platt(z * 100 + 7, y)  # invariant to an affine change of the input logits
    assert abs(a100 * 100 - a) < 0.05 and abs(b100 + 7 * a100 - b) < 0.05


def test_threshold_at_a_target_false_positive_rate():
    from export.metrics import threshold_at_fpr, tpr_at_fpr

    reals = np.linspace(0, 1, 101)
    t = threshold_at_fpr(reals, 0.05)
    assert np.mean(reals >= t) <= 0.05 and np.mean(reals >= reals[reals < t].max()) > 0.05
    assert threshold_at_fpr(reals, 0.0) > reals.max()
    y = np.r_[np.zeros(101), np.ones(50)]
    s = np.r_[reals, np.full(50, 0.97)]
    assert tpr_at_fpr(y, s, 0.05) == 1.0 and tpr_at_fpr(y, s, 0.0) == 0.0


def test_rate_interval_resamples_groups():
    from export.metrics import grouped_rate_ci

    hits = np.r_[np.ones(50), np.zeros(50)]
    lo, hi = grouped_rate_ci(hits, np.r_[np.zeros(50), np.ones(50)], n=300)  # two people: 0 % or 100 %
    assert lo == 0.0 and hi == 1.0
    lo, hi = grouped_rate_ci(hits, np.arange(100) // 2, n=300)  # fifty people: 25 always hit, 25 never
    assert 0.3 < lo < 0.5 < hi < 0.7


def test_no_import_cycle_between_train_and_calibrate():
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "export" / "calibrate.py"
    imported = {n.module for n in ast.walk(ast.parse(src.read_text())) if isinstance(n, ast.ImportFrom)}
    assert "train" not in imported and not any(m and m.endswith(".train") for m in imported)
