"""Broker outages: what to log, and when, while the reconnect loop keeps retrying every second.

A 5G outage can last hours and a demo runs with no broker at all. The loop retries about once a
second so a returning broker is reached within ~2 s, but one log line per attempt would flood
journald. So an outage is logged once when it starts, then as one `uplink_buffering` line per
`interval_s` (with the backlog depth, supplied by the caller), and once more when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

#: At most one `uplink_buffering` line this often during an outage.
BUFFERING_LOG_INTERVAL_S = 60.0


class Say(Enum):
    """What the caller should log for a failed attempt."""

    FIRST = "first"  # the outage starts: one warning with the reason and the error
    BUFFERING = "buffering"  # the periodic reminder with the backlog depth
    NOTHING = "nothing"  # a retry inside the quiet period (debug at most)


@dataclass(frozen=True, slots=True)
class Recovery:
    """An outage that just ended: how many attempts failed and for how long."""

    attempts: int
    down_for_s: float


class Outage:
    """Counts failed attempts of one outage and rations the log lines about it."""

    def __init__(
        self,
        *,
        interval_s: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = BUFFERING_LOG_INTERVAL_S if interval_s is None else interval_s
        self._monotonic = monotonic
        self.attempts = 0
        self._started: float | None = None
        self._last_said: float = 0.0

    @property
    def active(self) -> bool:
        return self._started is not None

    def down_for_s(self) -> float:
        """Seconds since the first failed attempt of this outage (0 when connected)."""
        return 0.0 if self._started is None else max(0.0, self._monotonic() - self._started)

    def failed(self) -> Say:
        """One more failed attempt (a refused connect or a dropped session)."""
        now = self._monotonic()
        self.attempts += 1
        if self._started is None:
            self._started = self._last_said = now
            return Say.FIRST
        if now - self._last_said >= self._interval:
            self._last_said = now
            return Say.BUFFERING
        return Say.NOTHING

    def recovered(self) -> Recovery | None:
        """The link is up again: the outage it ends, if there was one."""
        if self._started is None:
            return None
        ended = Recovery(attempts=self.attempts, down_for_s=round(self.down_for_s(), 1))
        self._started, self.attempts = None, 0
        return ended
