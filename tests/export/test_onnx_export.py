from __future__ import annotations

import numpy as np
import torch

from export.networks import Encoder, MobileNetV2Features, Temporal
from export.onnx import export_encoder, export_temporal, parity


def test_backbone_has_torchvision_names():
    names = set(MobileNetV2Features().state_dict())
    assert {"features.0.0.weight", "features.1.conv.0.0.weight", "features.2.conv.3.running_var",
            "features.18.1.bias"} <= names
    assert len([n for n in names if n.endswith(".weight")]) == 104


def test_onnx_parity_random_tiny_model(tmp_path):
    torch.manual_seed(0)
    enc, tmp = Encoder(embedding_dim=16).eval(), Temporal(embedding_dim=16, hidden=8).eval()
    export_encoder(enc, 32, tmp_path / "encoder.onnx")
    export_temporal(tmp, 4, 16, tmp_path / "temporal.onnx")
    diff = parity(enc, tmp, tmp_path / "encoder.onnx", tmp_path / "temporal.onnx", 32, 4, 16)
    assert np.isfinite(diff) and diff < 1e-4
