"""The detector's networks in plain torch: a MobileNetV2 crop encoder and an LSTM temporal head.

The backbone keeps torchvision's parameter names (``features.0.0.weight`` ...) so the official
ImageNet weights (``mobilenet_v2-b0353104.pth``) load strictly without torchvision.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import torch
from torch import nn

# expansion t, channels c, repeats n, stride s (Sandler et al., 2018)
MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]
LAST_CHANNELS = 1280


def conv_bn(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int):
        super().__init__()
        hidden = inp * expand
        self.use_res = stride == 1 and inp == out
        layers: list[nn.Module] = [conv_bn(inp, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, out, 1, bias=False),
                   nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2Features(nn.Module):
    """``features`` of torchvision's MobileNetV2 (width 1.0)."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = [conv_bn(3, 32, 3, 2)]
        inp = 32
        for t, c, n, s in MOBILENET_V2:
            for i in range(n):
                layers.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        layers.append(conv_bn(inp, LAST_CHANNELS, 1))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


HEAT_SPLIT = 14  # features[:14] end at stride 16 with 96 channels: the heatmap head reads them
HEAT_CHANNELS = 96
HEAT_STRIDE = 16


@cache
def residual_blocks() -> tuple[int, ...]:
    """Indices of ``features`` whose block adds its input back (stride 1, same width): the ones ``skip`` may drop."""
    return tuple(i for i, b in enumerate(MobileNetV2Features().features)
                 if isinstance(b, InvertedResidual) and b.use_res)


def check_skip(skip: tuple[int, ...]) -> tuple[int, ...]:
    """``skip`` sorted, or ValueError when it names a block that is not residual."""
    if not set(skip) <= set(residual_blocks()):
        blocks = ", ".join(map(str, residual_blocks()))
        raise ValueError(f"only residual blocks can be skipped ({blocks}), not {', '.join(map(str, sorted(skip)))}")
    return tuple(sorted(set(skip)))


class Encoder(nn.Module):
    """Crop -> (embedding [N, D], frame logit [N]); with ``heatmap``, also a blend-mask logit map
    [N, 1, S/16, S/16] from the stride-16 features (Face X-ray style, trained on SBI masks).

    ``skip``: residual blocks left out (identity), a cheaper network whose other blocks keep their indices and
    names, so a full network's weights load into it (``load_weights``)."""

    def __init__(self, embedding_dim: int = 128, dropout: float = 0.2, heatmap: bool = False,
                 skip: tuple[int, ...] = ()):
        super().__init__()
        self.backbone = MobileNetV2Features()
        self.skip = check_skip(skip)
        for i in self.skip:
            self.backbone.features[i] = nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.project = nn.Linear(LAST_CHANNELS, embedding_dim)
        self.classify = nn.Linear(embedding_dim, 1)
        self.heat = nn.Sequential(nn.Conv2d(HEAT_CHANNELS, 32, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(32, 1, 1)) if heatmap else None

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Embedding, frame logit and heatmap logits (None without the heatmap head)."""
        mid = self.backbone.features[:HEAT_SPLIT](x)
        pooled = self.backbone.features[HEAT_SPLIT:](mid).mean(dim=(2, 3))
        embedding = self.project(self.dropout(pooled))
        logit = self.classify(torch.relu(embedding)).squeeze(1)
        return embedding, logit, None if self.heat is None else self.heat(mid)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding, logit, _ = self.forward_all(x)
        return embedding, logit

    def load_imagenet(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        self.backbone.load_state_dict(self._without_skipped(features), strict=True)

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """An encoder's state dict, strictly, but for the blocks this one skips."""
        self.load_state_dict(self._without_skipped(state), strict=True)

    def _without_skipped(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        dropped = tuple(f"features.{i}." for i in self.skip)
        return {k: v for k, v in state.items() if not k.removeprefix("backbone.").startswith(dropped)}

    def freeze_blocks(self, n: int) -> None:
        """Freeze the first ``n`` feature blocks (their BatchNorm statistics too)."""
        for block in self.backbone.features[:n]:
            block.eval()
            for p in block.parameters():
                p.requires_grad_(False)


class Temporal(nn.Module):
    """Window of embeddings [B, T, D] -> window logit [B].

    The mean of the per-frame logits (``frame``: a copy of the encoder's classifier) plus an LSTM
    correction that starts at zero, so the head can only improve on frame averaging.
    """

    def __init__(self, embedding_dim: int = 128, hidden: int = 64):
        super().__init__()
        self.frame = nn.Linear(embedding_dim, 1)
        self.norm = nn.LayerNorm(embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden, batch_first=True)
        self.classify = nn.Linear(hidden, 1)
        nn.init.zeros_(self.classify.weight), nn.init.zeros_(self.classify.bias)
        self.register_buffer("scale", torch.ones(()))  # Platt calibration of the window logit
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.frame(torch.relu(x)).squeeze(2).mean(1)
        out, _ = self.lstm(self.norm(x))  # zero initial state sized from the input's batch
        return (base + self.classify(out[:, -1]).squeeze(1)) * self.scale + self.shift


class EncoderExport(nn.Module):
    """ONNX face of the encoder: normalised crops -> embedding, fake probability (, heatmap probabilities)."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        embedding, logit, heat = self.encoder.forward_all(crops)
        out = (embedding, torch.sigmoid(logit).reshape(-1))
        return out if heat is None else out + (torch.sigmoid(heat),)


class TemporalExport(nn.Module):
    def __init__(self, temporal: Temporal):
        super().__init__()
        self.temporal = temporal

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.temporal(embeddings)).reshape(-1)
