"""Per-unit circuit breaker, so one silent slave on a shared RS-485 bus cannot stall the others.

After `threshold` consecutive timeouts the unit is skipped for `cooldown_s`; then one request
probes it again (half-open). A success closes the breaker; another timeout opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass
class Breaker:
    threshold: int
    cooldown_s: float
    consecutive_timeouts: int = 0
    open_until: float | None = None

    def state(self, now: float) -> BreakerState:
        if self.open_until is None:
            return "closed"
        return "open" if now < self.open_until else "half_open"

    def allow(self, now: float) -> bool:
        """Whether the unit should be asked this poll."""
        return self.state(now) != "open"

    def record_success(self) -> None:
        self.consecutive_timeouts = 0
        self.open_until = None

    def record_timeout(self, now: float) -> bool:
        """Count a timeout; True when this one opened the breaker."""
        self.consecutive_timeouts += 1
        if self.consecutive_timeouts >= self.threshold:
            self.open_until = now + self.cooldown_s
            return True
        return False
