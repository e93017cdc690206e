"""A random-weight model that fails on purpose: its encoder raises for a run of calls, then recovers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from streamer.core.model import Model


class InjectedFault(RuntimeError):
    pass


class FaultyModel(Model):
    """Once ``arm``ed, encoder calls number ``fail_on`` to ``fail_on + failures - 1`` raise ``InjectedFault``."""

    def __init__(self, path: Path, fail_on: int = 20, failures: int = 10):
        super().__init__(path)
        self.fail_on, self.failures = fail_on, failures
        self.calls = 0
        self.raised = 0
        self.armed = False

    def arm(self) -> None:
        self.calls, self.raised, self.armed = 0, 0, True

    def encode(self, crops: np.ndarray):
        if self.armed and len(crops):
            self.calls += 1
            if self.fail_on <= self.calls < self.fail_on + self.failures:
                self.raised += 1
                raise InjectedFault(f"injected encoder fault on call {self.calls}")
        return super().encode(crops)
