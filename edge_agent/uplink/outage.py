"""Broker outages: what to log, and when, while the reconnect loop keeps retrying every second.

A 5G outage can last hours and a demo runs with no broker at all. The loop retries about once a
second so a returning broker is reached within ~2 s, but one log line per attempt would flood
journald. So an outage is logged once when it starts, then as one `uplink_buffering` line per
`interval_s` (with the backlog depth, supplied by the caller), and once more when it ends.

An outage can change its cause: the broker is down (`unreachable`), then comes back with a
certificate out of date for this PC's clock (`tls_failed`), or with the password changed
(`auth_failed`). The journal must not go on saying `unreachable`, so the first change of reason is
said at once (`Say.CHANGED`). After that the outage keeps to one line per `interval_s`: a change
line when the reason differs from the one last said, else the `uplink_buffering` line. So a link
that flaps between two failures on alternate attempts says so once a minute, not once per attempt.

Moves between the reasons that all say the broker cannot be reached (`AWAY`) are not changes of
cause: every broker restart goes from a dropped session (`disconnected`) to refused connects
(`unreachable`), and a weak 5G link alternates `unreachable` and `timeout`. The minute's
`uplink_buffering` line names the latest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

#: At most one `uplink_buffering` line this often during an outage.
BUFFERING_LOG_INTERVAL_S = 60.0
#: Reason codes (link.classify) that all mean "the broker cannot be reached now".
AWAY = frozenset({"disconnected", "unreachable", "timeout"})


class Say(Enum):
    """What the caller should log for a failed attempt."""

    FIRST = "first"  # the outage starts: one warning with the reason and the error
    CHANGED = "changed"  # the failure is not the one the journal said last (see `was`)
    BUFFERING = "buffering"  # the periodic reminder with the backlog depth
    NOTHING = "nothing"  # a retry inside the quiet period (debug at most)


@dataclass(frozen=True, slots=True)
class Recovery:
    """An outage that just ended: how many attempts failed and for how long."""

    attempts: int
    down_for_s: float


class Outage:
    """Counts failed attempts of one outage and rations the log lines about it.

    `was` is the reason the journal said before the last `Say.CHANGED`.
    """

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
        self._said: str | None = None  # the reason the journal has last
        self._changed = False  # the reason changed once already in this outage
        self.was: str | None = None

    @property
    def active(self) -> bool:
        return self._started is not None

    def down_for_s(self) -> float:
        """Seconds since the first failed attempt of this outage (0 when connected)."""
        return 0.0 if self._started is None else max(0.0, self._monotonic() - self._started)

    def failed(self, reason: str) -> Say:
        """One more failed attempt (a refused connect or a dropped session), for `reason`."""
        now = self._monotonic()
        self.attempts += 1
        if self._started is None:
            self._started = self._last_said = now
            self._said, self._changed = reason, False
            return Say.FIRST
        due = now - self._last_said >= self._interval
        if reason in AWAY and self._said in AWAY:
            self._said = reason  # the same story; `was` names the latest if a change follows
        elif reason != self._said and (due or not self._changed):
            self.was, self._said, self._changed = self._said, reason, True
            self._last_said = now  # it says what `uplink_buffering` would, and more
            return Say.CHANGED
        if due:
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
