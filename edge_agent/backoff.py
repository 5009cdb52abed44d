"""Jittered exponential backoff ("equal jitter": each delay is drawn from the upper half of its
ceiling), shared by device restarts and MQTT reconnects, so a branch full of devices, or a fleet of
branches after an outage, never retries in step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """`delay(n)` for retry number n, or `next_delay()`/`reset()` to let it count."""

    base_s: float = 1.0
    cap_s: float = 60.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempt: int = 0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry `attempt` (0-based): uniform in [ceiling/2, ceiling]."""
        ceiling = min(self.cap_s, self.base_s * self.factor ** max(0, min(attempt, 64)))
        r = (rng or self.rng).random()
        return ceiling / 2 + r * ceiling / 2

    def next_delay(self) -> float:
        """The next delay, counting attempts since the last `reset()`."""
        d = self.delay(self.attempt)
        self.attempt = min(self.attempt + 1, 64)
        return d

    def reset(self) -> None:
        self.attempt = 0
