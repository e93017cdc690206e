"""A spy on the encoder of a (random-weight) model: which batch sizes the analyzer sends it."""
from __future__ import annotations


def spy_on_encoder(analyzer, model) -> list[int]:
    """Replace an analyzer's model by one that records the batch size of every encoder call."""
    calls: list[int] = []
    analyzer.model = type("Spy", (), {"manifest": model.manifest, "temporal": model.temporal,
                                      "encode": lambda self, crops: calls.append(len(crops)) or model.encode(crops)})()
    return calls
