"""Another client with our client id: the broker keeps ending our sessions right after connect.

Two gateways configured with the same `agent.branch_id`/`agent.agent_id` (a cloned disk image),
or the same `uplink.mqtt.client_id`, connect with one client id. The broker closes the older
connection each time the other connects, so both agents reconnect at once and kick each other
off, forever. An MQTT 5 broker may say so with DISCONNECT reason 0x8E (*Session taken over*);
mosquitto 2.0.11 just closes the socket, which looks exactly like a broker restart. What tells
them apart is the rhythm:

- a takeover: connect succeeds, the broker ends the session within seconds, the next connect
  succeeds at once, and that session is ended within seconds too, again and again;
- a broker restart: one session ends, connects are refused while the broker is down, and the
  session after it lasts.

So `STREAK` sessions in a row that the broker ended within `SHORT_SESSION_S` of connecting, with
no refused connect between them, raise the suspicion (a DISCONNECT 0x8E raises it at once); a
session that lasts `SHORT_SESSION_S` clears it. While it lasts, the session loop does not reset
its backoff on connect, so the two agents take turns every `reconnect_max_s` or so rather than
several times a second; a broker restart, which raises no suspicion, is reconnected as fast as ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.sdk import Logger

#: A session the broker ends sooner than this after connecting counts as cut short; one that
#: lasts this long clears the suspicion. Both agents reconnect within `reconnect_min_s` (0.1 s)
#: of being kicked, so a taken-over session lasts about that plus one connect (well under 2 s even
#: with TLS over 5G); 10 s leaves room for a slow link without mistaking a normal session.
SHORT_SESSION_S = 10.0
#: Sessions in a row cut short before the warning: one or two happen when a broker restarts
#: twice in quick succession; three with no refused connect between them do not.
STREAK = 3
#: While it lasts, the warning is repeated this often (with the count), not once per session.
REMIND_S = 300.0
#: MQTT 5 DISCONNECT reason codes: the broker says another client took the session over, or
#: says nothing more precise than "unspecified" (what a dropped socket maps to as well).
SESSION_TAKEN_OVER = 0x8E
UNSPECIFIED = 0x80
#: The reason code `health` and `status` report while the suspicion lasts.
REASON = "client_id_in_use"


@dataclass(slots=True)
class Suspicion:
    """Why we think another client uses our client id, and since when."""

    since: float  # unix seconds
    sessions_cut: int  # sessions the broker ended early since the suspicion began (streak incl.)
    last_session_s: float
    reason_code: int | None  # the broker's DISCONNECT reason, when it sent one
    warned_at: float  # monotonic


class Takeover:
    """Watches how sessions end; warns once when another client seems to use our client id.

    The session loop calls `connected` on every CONNACK, `ended` when a session ends,
    `connect_failed` when a connect attempt fails, and `lasted` once a session has lasted
    `short_s` (a timer in the session).
    """

    def __init__(
        self,
        client_id: str,
        config_keys: list[str],
        log: Logger,
        *,
        short_s: float | None = None,
        streak: int | None = None,
        remind_s: float | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id, self.config_keys, self._log = client_id, config_keys, log
        self.short_s = SHORT_SESSION_S if short_s is None else short_s
        self._streak_needed = STREAK if streak is None else streak
        self._remind_s = REMIND_S if remind_s is None else remind_s
        self._clock, self._monotonic = clock, monotonic
        self._started: float | None = None
        self._streak = 0
        self.suspicion: Suspicion | None = None

    def connected(self) -> None:
        self._started = self._monotonic()

    def connect_failed(self) -> None:
        """A refused or unreachable connect: the broker is away (a restart), not taken over."""
        self._started = None
        self._streak = 0

    def ended(self, *, by_broker: bool, reason_code: int | None) -> None:
        """The session ended. `by_broker`: the link went down (not our stop, not our crash);
        `reason_code`: the broker's MQTT 5 DISCONNECT reason, if it sent one."""
        started, self._started = self._started, None
        if started is None:
            return
        lasted = max(0.0, self._monotonic() - started)
        taken_over = reason_code == SESSION_TAKEN_OVER
        cut = by_broker and lasted < self.short_s and reason_code in (None, UNSPECIFIED)
        if not (taken_over or cut):  # a long session, our own ending, or another stated reason
            self._streak = 0
            return
        self._streak += 1
        suspicion = self.suspicion
        if suspicion is not None:
            suspicion.sessions_cut += 1
            suspicion.last_session_s = lasted
            suspicion.reason_code = (
                reason_code if reason_code is not None else suspicion.reason_code
            )
            if self._monotonic() - suspicion.warned_at >= self._remind_s:
                suspicion.warned_at = self._monotonic()
                self._warn(suspicion)
        elif taken_over or self._streak >= self._streak_needed:
            self.suspicion = Suspicion(
                since=self._clock(),
                sessions_cut=self._streak,
                last_session_s=lasted,
                reason_code=reason_code,
                warned_at=self._monotonic(),
            )
            self._warn(self.suspicion)

    def lasted(self) -> bool:
        """The current session has lasted `short_s`: nobody is taking it over. True when this
        clears a suspicion (the caller republishes health)."""
        self._streak = 0
        suspicion, self.suspicion = self.suspicion, None
        if suspicion is None:
            return False
        self._log.info(
            "uplink_client_id_in_use_cleared",
            client_id=self.client_id,
            sessions_cut=suspicion.sessions_cut,
            stable_for_s=self.short_s,
        )
        return True

    def report(self) -> dict[str, Any] | None:
        """The suspicion as `status`, `sync status` and `health` show it (None: no sign of it)."""
        s = self.suspicion
        if s is None:
            return None
        return {
            "client_id": self.client_id,
            "config_keys": list(self.config_keys),
            "since": s.since,
            "sessions_cut": s.sessions_cut,
            "last_session_s": round(s.last_session_s, 2),
            "reason_code": s.reason_code,
        }

    def _warn(self, s: Suspicion) -> None:
        if s.reason_code == SESSION_TAKEN_OVER:
            why = "the broker says another client took the session over (0x8E)"
        else:
            why = (
                f"the broker ended {s.sessions_cut} sessions in a row within"
                f" {self.short_s:.0f} s of connecting"
            )
        self._log.warning(
            "uplink_client_id_in_use",
            client_id=self.client_id,
            config_keys=self.config_keys,
            sessions_cut=s.sessions_cut,
            last_session_s=round(s.last_session_s, 2),
            reason_code=s.reason_code,
            detail=f"another client may be connecting with client id {self.client_id}: {why}",
            hint=fix_hint(self.config_keys),
        )


def fix_hint(keys: list[str]) -> str:
    """What to change, for the log line (the CLI says the same)."""
    return (
        f"give each gateway its own {' / '.join(keys)};"
        " the broker's log shows where each connection with this client id comes from"
    )


def config_keys(explicit_client_id: bool) -> list[str]:
    """The config keys the client id comes from."""
    if explicit_client_id:
        return ["uplink.mqtt.client_id"]
    return ["agent.branch_id", "agent.agent_id"]
