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
