"""What the uplink has sent: rate, last PUBACK and bytes today (persisted in store meta)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import deque
from collections.abc import Callable

from edge_agent.store.errors import StoreError

from .ports import UplinkStore

_META_BYTES = "uplink.bytes_today"
_RATE_WINDOW_S = 10.0


class Counters:
    def __init__(self, store: UplinkStore, clock: Callable[[], float]) -> None:
        self._store, self._clock = store, clock
        self.items_sent = 0
        self.messages_sent = 0
        self.last_puback_at: float | None = None
        self._recent: deque[tuple[float, int]] = deque()
        self._day, self.bytes_today = self._today(), 0

    def _today(self) -> str:
        return dt.datetime.fromtimestamp(self._clock()).date().isoformat()

    async def load(self) -> None:
        """Pick up today's byte count from before a restart."""
        raw = await self._store.meta_get(_META_BYTES)
        try:
            saved = json.loads(raw) if raw else {}
            if saved.get("day") == self._day:
                self.bytes_today += int(saved.get("bytes", 0))
        except (ValueError, TypeError, AttributeError):
            pass  # an unreadable counter restarts at zero; it is a statistic, not data

    def acked(self, items: int, nbytes: int) -> None:
        """One PUBACK for a message carrying `items` store items and `nbytes` of payload."""
        now = self._clock()
        today = self._today()
        if today != self._day:
            self._day, self.bytes_today = today, 0
        self.bytes_today += nbytes
        self.messages_sent += 1
        self.items_sent += items
        self.last_puback_at = now
        if items:
            self._recent.append((now, items))

    def sent_per_s(self) -> float:
        now = self._clock()
        while self._recent and self._recent[0][0] < now - _RATE_WINDOW_S:
            self._recent.popleft()
        return round(sum(n for _, n in self._recent) / _RATE_WINDOW_S, 3)

    async def persist(self) -> None:
        """Save today's byte count; best effort (a full disk must not end the session)."""
        with contextlib.suppress(StoreError):  # the store reports its own trouble in health
            await self._store.meta_set(
                _META_BYTES, json.dumps({"day": self._day, "bytes": self.bytes_today})
            )
