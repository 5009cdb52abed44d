"""The bounded in-memory hold for items the disk would not take (full disk, I/O error).

Kept per class so that, when the bound is reached, the policy matches the on-disk one: the oldest
readings go first, then events, then summaries. Taking everything back merges the classes by
ticket, so a retried batch keeps the order in which items were submitted.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from typing import Any

from .items import ItemClass

#: (ticket, cls, kind, device, ts, data_json, data): a submitted item on its way in.
Entry = tuple[int, int, str, str | None, float, str, dict[str, Any]]


class HoldQueue:
    """Not thread-safe: only the writer thread touches it (stats read `len` racily)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._queues: dict[int, deque[Entry]] = {int(c): deque() for c in ItemClass}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def extend(self, entries: Iterable[Entry]) -> dict[ItemClass, int]:
        """Hold `entries` (in ticket order); returns what the bound forced out, per class."""
        for e in entries:
            self._queues[e[1]].append(e)
            self._count += 1
        dropped = dict.fromkeys(ItemClass, 0)
        excess = self._count - self.limit
        for cls in sorted(ItemClass, reverse=True):
            q = self._queues[int(cls)]
            while excess > 0 and q:
                q.popleft()
                dropped[cls] += 1
                excess -= 1
        self._count -= sum(dropped.values())
        return dropped

    def take_all(self) -> list[Entry]:
        """Everything held, in ticket (submission) order; the hold is empty afterwards."""
        merged = list(heapq.merge(*self._queues.values()))
        for q in self._queues.values():
            q.clear()
        self._count = 0
        return merged

    def low_ticket(self) -> int | None:
        heads = [q[0][0] for q in self._queues.values() if q]
        return min(heads) if heads else None

    def by_class(self) -> dict[str, int]:
        return {c.label: len(self._queues[int(c)]) for c in ItemClass}
