"""A really full disk (a 2 MB tmpfs filled to the brim): the store holds, reports, and recovers.

Needs root (CAP_SYS_ADMIN) to mount the tmpfs; skipped with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edge_agent.settings.store import StoreSettings
from edge_agent.store import ItemClass, NewItem, Store, StoreError, StoreErrorReason

PAD = "p" * 1000


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem says ENOSPC; deleting it gives the space back."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as f:
        for _ in range(64):  # 4 MB max: more than the 2 MB disk
            try:
                f.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        else:
            raise AssertionError("the tmpfs never filled up")
        # fill the last partial chunk's worth byte-page by byte-page
        for _ in range(16):
            try:
                f.write(b"\0" * 4096)
            except OSError:
                break
    return filler


def reading(n: int, cls: ItemClass = ItemClass.READING) -> NewItem:
    return NewItem(cls, "fill", "dev", float(n), {"n": n, "pad": PAD})


async def submit_until_disk_full(store: Store, start: int, cls_cycle: list[ItemClass]) -> int:
    """Submit batches until a flush reports disk_full; returns how many were submitted."""
    n = start
    for _ in range(40):
        for _ in range(100):
            store.submit(reading(n, cls_cycle[n % len(cls_cycle)]))
            n += 1
        try:
            await store.flush()
        except StoreError as exc:
            assert exc.reason == StoreErrorReason.DISK_FULL
            return n
    raise AssertionError("the disk never filled up")


async def flush_until_recovered(store: Store) -> None:
    for _ in range(50):
        try:
            await store.flush()
            return
        except StoreError:
            await asyncio.sleep(0.1)
    raise AssertionError("the store did not recover after space came back")


async def test_full_disk_holds_items_reports_disk_full_and_commits_them_when_space_returns(
    small_disk: Path,
) -> None:
    store = Store(small_disk / "edge-agent.db", StoreSettings(commit_interval_ms=2))
    await store.open()
    try:
        filler = fill(small_disk)
        with capture_logs() as logs:
            submitted = await submit_until_disk_full(store, 0, [ItemClass.READING])

        assert store.health is not None
        assert store.health.reason == StoreErrorReason.DISK_FULL
        assert store.health_reason() == "disk_full"
        stats = await store.stats()  # reads still work: the daemon keeps running
        assert stats.error == "disk_full"
        assert stats.held_in_memory > 0
        assert stats.last_seq + stats.held_in_memory == submitted
        assert any(e["event"] == "store_writes_failing" for e in logs)
        # more items while full are held, not lost
        for n in range(submitted, submitted + 50):
            store.submit(reading(n))
        submitted += 50

        filler.unlink()
        with capture_logs() as logs:
            await flush_until_recovered(store)

        assert store.health is None
        assert store.health_reason() == "ok"
        assert any(e["event"] == "store_writes_recovered" for e in logs)
        stats = await store.stats()
        assert (stats.error, stats.held_in_memory) == (None, 0)
        rows = await store.tail(0, submitted + 10)
        assert [r.data["n"] for r in rows] == list(range(submitted)), "nothing lost, order kept"
        assert [r.seq for r in rows] == list(range(1, submitted + 1)), "no seq gaps"
    finally:
        await store.close()


async def test_hold_overflow_on_a_full_disk_drops_readings_first_and_counts_them(
    small_disk: Path,
) -> None:
    store = Store(
        small_disk / "edge-agent.db", StoreSettings(commit_interval_ms=2, max_held_items=150)
    )
    await store.open()
    try:
        filler = fill(small_disk)
        cycle = [ItemClass.READING, ItemClass.READING, ItemClass.EVENT, ItemClass.SUMMARY]
        submitted = await submit_until_disk_full(store, 0, cycle)
        committed = (await store.stats()).last_seq
        with capture_logs() as logs:
            for n in range(submitted, submitted + 400):
                store.submit(reading(n, cycle[n % 4]))
            submitted += 400
            with pytest.raises(StoreError):
                await store.flush()

        # flush() may raise the standing disk_full error before the writer has taken the last
        # submits into its hold; give it a moment (bounded) to do so.
        for _ in range(100):
            held = await store.stats()
            if held.held_in_memory == 150:
                break
            await asyncio.sleep(0.05)
        assert held.held_in_memory == 150
        assert held.dropped_by_class["summary"] == 0
        assert held.dropped_by_class["reading"] > 0
        assert any(e["event"] == "store_overflow_dropped" for e in logs)

        filler.unlink()
        await flush_until_recovered(store)
        after = await store.stats()
        dropped = sum(after.dropped_by_class.values())
        assert after.last_seq - committed == 150
        assert after.last_seq + dropped == submitted, "every submitted item is stored or counted"
        rows = await store.tail(committed, 1000)
        kept = {r.data["n"] for r in rows}
        summaries = {n for n in range(committed, submitted) if cycle[n % 4] == ItemClass.SUMMARY}
        assert summaries <= kept, "summaries outrank readings and events in the hold"
    finally:
        await store.close()


async def test_closing_on_a_full_disk_returns_and_leaves_a_sound_database(
    small_disk: Path,
) -> None:
    path = small_disk / "edge-agent.db"
    store = Store(path, StoreSettings(commit_interval_ms=2))
    await store.open()
    filler = fill(small_disk)
    submitted = await submit_until_disk_full(store, 0, [ItemClass.EVENT])
    committed = (await store.stats()).last_seq
    assert committed < submitted
    with capture_logs() as logs:
        await store.close()
    [lost] = [e for e in logs if e["event"] == "store_items_lost_on_close"]
    assert lost["held_event"] == submitted - committed

    filler.unlink()
    again = Store(path, StoreSettings())
    await again.open()
    try:
        rows = await again.tail(0, submitted)
        assert [r.data["n"] for r in rows] == list(range(committed))
    finally:
        await again.close()
    assert os.path.getsize(path) > 0
