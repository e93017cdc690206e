"""Adaptive analysis rate: as many frames per second as the machine keeps up with, within bounds."""
from __future__ import annotations


class AdaptiveRate:
    """Additive increase, multiplicative decrease of a target rate from measured analysis times.

    An analysis that takes more than ``busy`` of the current frame budget means the machine is
    saturated: the rate drops by ``factor``. One well inside the budget lets it climb by ``step``.
    """

    def __init__(self, ceiling: float, floor: float, busy: float = 0.8, idle: float = 0.5,
                 factor: float = 0.85, step: float = 0.5):
        if not 0 < floor <= ceiling:
            raise ValueError("need 0 < floor <= ceiling")
        self.ceiling, self.floor = ceiling, floor
        self.busy, self.idle, self.factor, self.step = busy, idle, factor, step
        self.target = ceiling

    @property
    def interval(self) -> float:
        return 1.0 / self.target

    def update(self, seconds: float) -> float:
        """Fold in one analysis that took ``seconds`` of wall time; returns the new target."""
        budget = self.interval
        if seconds > self.busy * budget:
            self.target = max(self.floor, self.target * self.factor)
        elif seconds < self.idle * budget:
            self.target = min(self.ceiling, self.target + self.step)
        return self.target
