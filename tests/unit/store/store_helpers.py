"""Helpers shared by the store tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from edge_agent.store import ItemClass, NewItem, Store

StoreFactory = Callable[..., Awaitable[Store]]

T0 = 1_800_000_000.0


class FakeClock:
    """Wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def item(cls: ItemClass = ItemClass.EVENT, n: int = 0, **data: Any) -> NewItem:
    """A NewItem whose `data["n"]` identifies it in assertions."""
    return NewItem(
        cls=cls, kind=f"{cls.label}_kind", device="dev-1", ts=T0 + n, data={"n": n, **data}
    )
