"""The slices of the store and the router the uplink uses, as Protocols (tests pass stand-ins).

The store is async (SQLite work happens off the event loop). Return types the uplink ignores
are `object`, so a store that returns counts still fits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from edge_agent.commands import CommandRouter
from edge_agent.store.items import BacklogStats, StoredItem

AgentAction = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class AgentRouter(CommandRouter, Protocol):
    """The command router, which also runs the uplink's own `_agent` actions for it (so
    remote `_agent` commands get the same expiry, idempotency and audit as any other)."""

    def add_agent_action(self, name: str, action: AgentAction) -> None: ...


class UplinkStore(Protocol):
    async def pending(
        self,
        limit: int,
        *,
        accepted_after: float | None = None,
        accepted_before: float | None = None,
        exclude: Sequence[tuple[int, str | None]] = (),
    ) -> list[StoredItem]:
        """Unsent items by class priority, then age, leaving out the (class, kind) rows in
        `exclude` (kind None: the whole class)."""
        ...

    async def mark_sent(self, ids: Sequence[str]) -> object: ...
    async def stats(self) -> BacklogStats: ...
    def add_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> object:
        """`fn(items)` runs in the event loop after each commit."""
        ...

    def remove_commit_listener(self, fn: Callable[[Sequence[StoredItem]], None]) -> object: ...
    async def device_states(self) -> dict[str, dict[str, Any]]: ...
    async def delete_device_state(self, device_id: str) -> object: ...
    async def meta_get(self, key: str) -> str | None: ...
    async def meta_set(self, key: str, value: str) -> object: ...
