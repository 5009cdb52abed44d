"""Topics the broker refuses to take (MQTT 5 PUBACK >= 0x80): held back, retried later, reported.

A refusal is about one topic (an ACL deny on `events/{kind}`, a quota), not about the session, so
reconnecting would only re-send the same batch into the same refusal. Instead the topic is held
back with a growing retry delay while every other topic keeps flowing. Its items stay unsent:
they were accepted, so they are never dropped silently; they go once the broker takes the topic
again. Each held topic shows in `health` (`uplink.refused`) and in one warning per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drivers.sdk import Logger

from .errors import PublishRefused

#: First retry of a refused topic after this long, doubling up to the cap.
RETRY_MIN_S = 30.0
RETRY_MAX_S = 900.0
#: At most one `publish_refused` warning per topic this often.
WARN_INTERVAL_S = 300.0
#: Ids held back beyond this are not remembered. Nothing depends on them: while a topic waits,
#: the outbox read leaves its rows out (`excluded`); the ids only cover batches already read.
MAX_HELD_IDS = 200_000

OutboxKey = tuple[int, str | None]  # (item class, kind), or (class, None) for a whole class


@dataclass(slots=True)
class Refusal:
    """One held-back topic: why, since when, how much, and when it is tried again."""

    topic: str
    reason_code: int
    reason: str
    since: float
    retry_at: float
    delay_s: float
    messages: int = 0
    items: int = 0
    warned_at: float | None = None
    probing: bool = False
    ids: set[str] = field(default_factory=set)
    keys: set[OutboxKey] = field(default_factory=set)


class Refusals:
    """The held-back topics and the ids of their items, so the sender can read past them."""

    def __init__(
        self,
        log: Logger,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log, self._clock, self._monotonic = log, clock, monotonic
        self._topics: dict[str, Refusal] = {}
        self._held: set[str] = set()
        self.messages = 0
        self.items = 0

    def refused(
        self, error: PublishRefused, ids: Sequence[str], keys: Iterable[OutboxKey] = ()
    ) -> None:
        """The broker refused a message carrying `ids`: hold its topic back, longer each time."""
        now = self._monotonic()
        entry = self._topics.get(error.topic)
        if entry is None:
            entry = Refusal(
                error.topic, error.reason_code, error.reason, self._clock(), now, RETRY_MIN_S
            )
            self._topics[error.topic] = entry
            entry.retry_at = now + entry.delay_s
        elif entry.probing:
            # the retry was refused too: wait longer (others already in flight do not count)
            entry.probing = False
            entry.delay_s = min(RETRY_MAX_S, entry.delay_s * 2)
            entry.retry_at = now + entry.delay_s
        entry.reason_code, entry.reason = error.reason_code, error.reason
        entry.messages += 1
        entry.items += len(ids)
        self.messages += 1
        self.items += len(ids)
        self.hold(error.topic, ids, keys)
        if entry.warned_at is None or now - entry.warned_at >= WARN_INTERVAL_S:
            entry.warned_at = now
            self._log.warning(
                "publish_refused",
                topic=error.topic,
                reason_code=error.reason_code,
                reason=error.reason,
                items=entry.items,
                retry_in_s=round(entry.delay_s, 1),
            )

    def admit(self, topic: str) -> bool:
        """May a message to `topic` go now? Always for a topic never refused; for a held-back
        one, a single probe once its retry time has come."""
        entry = self._topics.get(topic)
        if entry is None:
            return True
        now = self._monotonic()
        if now < entry.retry_at:
            return False
        entry.retry_at = now + entry.delay_s  # the rest waits for the probe's answer
        entry.probing = True
        return True

    def blocked(self, topic: str) -> bool:
        """True while `topic` waits for its retry time (no side effect, unlike `admit`)."""
        entry = self._topics.get(topic)
        return entry is not None and self._monotonic() < entry.retry_at

    def hold(self, topic: str, ids: Iterable[str], keys: Iterable[OutboxKey] = ()) -> None:
        """Skip these items of a held-back topic, and the outbox rows `keys` name, when reading
        the outbox (the ids in bounded memory)."""
        entry = self._topics.get(topic)
        if entry is None:
            return
        entry.keys.update(keys)
        for item_id in ids:
            if len(self._held) >= MAX_HELD_IDS:
                break
            entry.ids.add(item_id)
            self._held.add(item_id)

    def excluded(self) -> list[OutboxKey]:
        """Outbox rows to leave out of a read: those of every topic waiting for its retry time.

        Without this a refused topic's rows came back on every read once more of them were held
        than `MAX_HELD_IDS`, and the sender spun on them while every other topic waited.
        """
        now = self._monotonic()
        return sorted(
            {k for r in self._topics.values() if now < r.retry_at for k in r.keys},
            key=lambda k: (k[0], k[1] or ""),
        )

    def release_due(self) -> None:
        """Topics whose retry time has come: their items may be read again for the probe."""
        now = self._monotonic()
        for entry in self._topics.values():
            if entry.ids and now >= entry.retry_at:
                self._held.difference_update(entry.ids)
                entry.ids.clear()

    def accepted(self, topic: str) -> None:
        """A publish to `topic` went through: it is no longer held back."""
        entry = self._topics.pop(topic, None)
        if entry is not None:
            self._held.difference_update(entry.ids)
            self._log.info("publish_accepted_again", topic=topic, refused_items=entry.items)

    def next_retry_in(self) -> float | None:
        """Seconds until the earliest held-back topic may be tried again (None: none held)."""
        if not self._topics:
            return None
        now = self._monotonic()
        return max(0.0, min(r.retry_at for r in self._topics.values()) - now)

    @property
    def held(self) -> int:
        """How many refused items the sender reads past."""
        return len(self._held)

    def is_held(self, item_id: str) -> bool:
        return item_id in self._held

    def report(self) -> list[dict[str, Any]]:
        """The held-back topics as `health` and `sync status` show them."""
        now = self._monotonic()
        return [
            {
                "topic": r.topic,
                "reason_code": r.reason_code,
                "reason": r.reason,
                "since": r.since,
                "items": r.items,
                "retry_in_s": round(max(0.0, r.retry_at - now), 1),
            }
            for r in sorted(self._topics.values(), key=lambda r: r.topic)
        ]
