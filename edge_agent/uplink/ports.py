"""The slice of the store the uplink uses, as a Protocol so tests can pass a stand-in.

The store is async (SQLite work happens off the event loop). Return types the uplink ignores
are `object`, so a store that returns counts still fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from edge_agent.store.items import BacklogStats, StoredItem


class UplinkStore(Protocol):
    async def pending(
        self,
        limit: int,
        *,
        accepted_after: float | None = None,
        accepted_before: float | None = None,
    ) -> list[StoredItem]:
        """Unsent items by class priority, then age."""
        ...

    async def mark_sent(self, ids: Sequence[str]) -> object: ...
    async def stats(self) -> BacklogStats: ...
    def add_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> object:
        """`fn(items)` runs in the event loop after each commit."""
        ...

    def remove_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> object: ...
    async def device_states(self) -> dict[str, dict[str, Any]]: ...
    async def meta_get(self, key: str) -> str | None: ...
    async def meta_set(self, key: str, value: str) -> object: ...
