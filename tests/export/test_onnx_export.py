from __future__ import annotations

import numpy as np
import pytest
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


def test_heatmap_output_exported_with_its_contract(tmp_path):
    """With the heatmap head the encoder has a third output: [N, 1, S/16, S/16] probabilities."""
    import onnxruntime as ort

    torch.manual_seed(0)
    enc, tmp = Encoder(embedding_dim=16, heatmap=True).eval(), Temporal(embedding_dim=16, hidden=8).eval()
    export_encoder(enc, 64, tmp_path / "encoder.onnx")
    export_temporal(tmp, 4, 16, tmp_path / "temporal.onnx")
    assert parity(enc, tmp, tmp_path / "encoder.onnx", tmp_path / "temporal.onnx", 64, 4, 16) < 1e-4
    session = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["embedding", "frame_score", "heatmap"]
    emb, score, heat = session.run(None, {"crops": np.zeros((3, 3, 64, 64), np.float32)})
    assert emb.shape == (3, 16) and score.shape == (3,) and heat.shape == (3, 1, 4, 4)
    assert np.all((heat >= 0) & (heat <= 1))


def test_without_heatmap_the_encoder_keeps_two_outputs(tmp_path):
    import onnxruntime as ort

    export_encoder(Encoder(embedding_dim=16).eval(), 32, tmp_path / "encoder.onnx")
    session = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["embedding", "frame_score"]


def test_skipped_blocks_are_identities_and_a_full_networks_weights_load(tmp_path):
    """A network without some residual blocks keeps the other blocks' names, so a full network's weights load
    into it; it exports, and runs like the full network with those blocks taken out."""
    torch.manual_seed(0)
    full = Encoder(embedding_dim=16, heatmap=True).eval()
    for block in (10, 15):  # a residual block after the heatmap split too
        for p in full.backbone.features[block].parameters():
            torch.nn.init.zeros_(p)  # x + conv(x) == x: the block already does nothing
    lite = Encoder(embedding_dim=16, heatmap=True, skip=(10, 15)).eval()
    lite.load_weights(full.state_dict())
    assert not any(k.startswith(("backbone.features.10.", "backbone.features.15.")) for k in lite.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(full.forward_all(x), lite.forward_all(x)):
            assert torch.allclose(a, b, atol=1e-5)
    export_encoder(lite, 64, tmp_path / "encoder.onnx")
    tmp = Temporal(embedding_dim=16, hidden=8).eval()
    export_temporal(tmp, 4, 16, tmp_path / "temporal.onnx")
    assert parity(lite, tmp, tmp_path / "encoder.onnx", tmp_path / "temporal.onnx", 64, 4, 16) < 1e-4


def test_only_residual_blocks_can_be_skipped():
    from export.train_faces import parse

    with pytest.raises(ValueError, match="only residual blocks"):
        Encoder(skip=(7,))  # a stride-2 block: the next one's input would change shape
    assert parse(["--out", "x", "--skip", "16,10"]).skip == (10, 16)
    with pytest.raises(SystemExit):
        parse(["--out", "x", "--skip", "5"])  # the cached stem (before --frozen 7)
    with pytest.raises(SystemExit):
        parse(["--out", "x", "--skip", "11"])
