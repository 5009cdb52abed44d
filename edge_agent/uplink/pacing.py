"""Rate limiting and backoff, with an injectable clock so unit tests run without sleeping.

The sender does its own waiting (it must wake early when live items arrive), so the bucket only
says how long to wait (`delay_for`) and records what was spent (`take`).
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """Messages/s and bytes/s budget for the backlog drain, so a metered link is not flooded.

    Both buckets start full (`burst_s` seconds of rate). A message larger than the byte bucket
    waits for a full bucket and then goes, leaving a debt, so oversized batches still drain.
    """

    def __init__(
        self,
        msgs_per_s: float,
        bytes_per_s: float,
        *,
        burst_s: float = 2.0,
        clock: Clock,
    ) -> None:
        self.msgs_per_s, self.bytes_per_s = msgs_per_s, bytes_per_s
        self.msg_cap = max(1.0, msgs_per_s * burst_s)
        self.byte_cap = max(1.0, bytes_per_s * burst_s)
        self._msgs, self._bytes = self.msg_cap, self.byte_cap
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._msgs = min(self.msg_cap, self._msgs + elapsed * self.msgs_per_s)
        self._bytes = min(self.byte_cap, self._bytes + elapsed * self.bytes_per_s)

    def delay_for(self, nbytes: int) -> float:
        """Seconds until one message of `nbytes` may go (0 when it may go now)."""
        self._refill()
        need_bytes = min(float(nbytes), self.byte_cap)
        wait_msgs = max(0.0, (1.0 - self._msgs) / self.msgs_per_s)
        wait_bytes = max(0.0, (need_bytes - self._bytes) / self.bytes_per_s)
        return max(wait_msgs, wait_bytes)

    def take(self, nbytes: int) -> None:
        """Spend the budget for one message (call only when `delay_for` said 0)."""
        self._msgs -= 1.0
        self._bytes -= float(nbytes)
