"""Fixtures for the store tests: a real on-disk SQLite store in tmp_path, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.settings.store import StoreSettings
from edge_agent.store import Store
from tests.unit.store.store_helpers import FakeClock, StoreFactory


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[StoreFactory]:
    """`await make_store(**settings)` opens a store; every one is closed at teardown."""
    opened: list[Store] = []

    async def make(path: Path | None = None, **overrides: Any) -> Store:
        settings = StoreSettings(**{"commit_interval_ms": 2, **overrides})
        store = Store(path or tmp_path / "edge-agent.db", settings, clock=clock)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
