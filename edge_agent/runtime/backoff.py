"""Jittered exponential backoff ("full jitter"), so a branch full of devices never retries in step."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 1.0
    cap_s: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (0-based): uniform in [ceiling/2, ceiling]."""
        ceiling = min(self.cap_s, self.base_s * self.factor ** max(0, attempt))
        r = (rng or random).random()
        return ceiling / 2 + r * ceiling / 2
