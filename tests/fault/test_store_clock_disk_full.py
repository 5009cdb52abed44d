"""The clock is stepped while the disk is full (a real tmpfs): nothing ages out by the stepped
clock before this boot's stamps have followed it, and they follow it once space returns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edge_agent.settings.store import StoreSettings
from edge_agent.store import Store, StoreError
from edge_agent.store.clock import Boot
from tests.fault.test_store_disk_full import fill, flush_until_recovered, reading
from tests.unit.store.store_helpers import T0, FakeClock

DAY = 86400.0


@pytest.mark.disk_size("4m")
async def test_a_step_forward_on_a_full_disk_ages_nothing_out_and_is_followed_later(
    small_disk: Path,
) -> None:
    wall, boot = FakeClock(T0), FakeClock(100.0)
    settings = StoreSettings(commit_interval_ms=2, max_age_days=30)
    store = Store(
        small_disk / "edge-agent.db", settings, clock=wall, boot=Boot(boot, lambda: "boot-1")
    )
    await store.open()
    try:
        for n in range(0, 1000, 100):
            for k in range(n, n + 100):
                store.submit(reading(k))
            await store.flush()
        with sqlite3.connect(small_disk / "edge-agent.db") as db:  # no WAL room left to reuse
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(small_disk)

        wall.now += 40 * DAY  # NTP's first sync
        with capture_logs() as logs:
            store.submit(reading(1000))
            with pytest.raises(StoreError):  # held: not stamped by a clock the older stamps
                await store.flush()  # do not follow yet
            with pytest.raises(StoreError):  # nor aged by it
                await store.prune()
        assert [e["event"] for e in logs].count("store_clock_step_not_applied") == 1

        filler.unlink()
        await flush_until_recovered(store)
        assert await store.prune() == {"summary": 0, "event": 0, "reading": 0}
        rows = await store.pending(2000)
        assert [r.data["n"] for r in rows] == list(range(1001)), "nothing lost, order kept"
        assert all(T0 + 40 * DAY - 1 <= r.accepted_at <= wall.now for r in rows)
    finally:
        await store.close()
