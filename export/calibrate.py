"""Platt calibration of the detector's logits on validation identities, so 0.5 means an even call.

Frame logits (encoder classifier) and window logits (temporal head) are each mapped by
``a * z + b`` fitted on validation SBI pairs / clip windows. Ranking (AUC) is unchanged. Used by
``export.train`` at the end of training and by ``export.recalibrate`` on a saved checkpoint.
"""
from __future__ import annotations

import numpy as np
import torch

from .networks import Encoder, Temporal


def platt(z: np.ndarray, y: np.ndarray, iters: int = 100, l2: float = 1e-4) -> tuple[float, float]:
    """a, b minimising the logistic loss of sigmoid(a z + b): damped Newton on standardised z."""
    z, y = np.asarray(z, np.float64), np.asarray(y, np.float64)
    mu, sd = z.mean(), z.std() + 1e-9
    x = np.c_[(z - mu) / sd, np.ones_like(z)]

    def loss(w: np.ndarray) -> float:
        t = x @ w
        return float(np.mean(np.logaddexp(0, t) - y * t) + l2 * w[0] ** 2)

    w = np.array([1.0, 0.0])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) / len(y) + np.array([2 * l2 * w[0], 0.0])
        hess = (x * (p * (1 - p))[:, None]).T @ x / len(y) + np.diag([2 * l2, 1e-6])
        step, t = np.linalg.solve(hess, grad), 1.0
        while loss(w - t * step) > loss(w) and t > 1e-4:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-9:
            break
    a = w[0] / sd
    return float(a), float(w[1] - a * mu)


def calibrate_encoder(encoder: Encoder, z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = platt(z, y)
    with torch.no_grad():
        encoder.classify.weight.mul_(a)
        encoder.classify.bias.mul_(a).add_(b)
    return a, b


def calibrate_temporal(head: Temporal, z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    a, b = platt(z, y)
    with torch.no_grad():
        head.shift.copy_(head.shift * a + b)
        head.scale.mul_(a)
    return a, b


def load_temporal(state: dict, dim: int) -> Temporal:
    head = Temporal(dim)
    missing, unexpected = head.load_state_dict(state, strict=False)
    if set(missing) - {"scale", "shift"} or unexpected:
        raise RuntimeError(f"temporal state mismatch: {missing} {unexpected}")
    return head
