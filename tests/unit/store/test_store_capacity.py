"""Size and age limits: what the operator sees when the outbox must give something up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from structlog.testing import capture_logs

from edge_agent.store import ItemClass
from tests.unit.store.store_helpers import FakeClock, StoreFactory, item

PAD = "x" * 200


def _used_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * size)
    finally:
        conn.close()


async def test_over_the_size_cap_sent_items_then_readings_go_and_summaries_stay(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    cap_mb = 0.4
    store = await make_store(max_size_mb=cap_mb)
    sent = await store.put([item(ItemClass.EVENT, n, pad=PAD) for n in range(200)])
    await store.mark_sent([s.id for s in sent])
    await store.put([item(ItemClass.SUMMARY, n, pad=PAD) for n in range(300)])
    await store.put([item(ItemClass.EVENT, n, pad=PAD) for n in range(300)])

    with capture_logs() as logs:
        for n in range(1500):
            store.submit(item(ItemClass.READING, n, pad=PAD))
        await store.flush()

    warnings = [e for e in logs if e["event"] == "store_capacity_dropped"]
    assert warnings, "dropping data must be logged"
    assert all(w["log_level"] == "warning" for w in warnings)
    assert sum(w["sent_pruned"] for w in warnings) == 200
    assert sum(w["dropped_summary"] + w["dropped_event"] for w in warnings) == 0
    dropped_readings = sum(w["dropped_reading"] for w in warnings)
    assert 0 < dropped_readings < 1500

    stats = await store.stats()
    assert stats.dropped_by_class == {"summary": 0, "event": 0, "reading": dropped_readings}
    assert stats.depth_by_class == {
        "summary": 300,
        "event": 300,
        "reading": 1500 - dropped_readings,
    }
    assert _used_bytes(tmp_path / "edge-agent.db") <= cap_mb * 1024 * 1024
    pending = await store.pending(2000)
    readings = [p.data["n"] for p in pending if p.cls == ItemClass.READING]
    assert readings == list(range(dropped_readings, 1500)), "the oldest readings went first"

    # the daemon keeps going
    store.submit(item(ItemClass.EVENT, 9999))
    await store.flush()
    assert (await store.tail(stats.last_seq))[0].data["n"] == 9999


async def test_drop_counters_survive_a_restart(make_store: StoreFactory) -> None:
    store = await make_store(max_size_mb=0.1)
    for n in range(1000):
        store.submit(item(ItemClass.READING, n, pad=PAD))
    await store.flush()
    before = (await store.stats()).dropped_by_class
    assert before["reading"] > 0
    await store.close()

    again = await make_store(max_size_mb=0.1)
    assert (await again.stats()).dropped_by_class == before


async def test_items_older_than_max_age_are_dropped_and_counted_per_class(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store(max_age_days=30)
    await store.put(
        [item(ItemClass.SUMMARY, 0), item(ItemClass.READING, 1), item(ItemClass.READING, 2)]
    )
    clock.now += 31 * 86400
    await store.put([item(ItemClass.READING, 3)])

    with capture_logs() as logs:
        dropped = await store.prune()

    assert dropped == {"summary": 1, "event": 0, "reading": 2}
    assert [p.data["n"] for p in await store.pending(10)] == [3]
    assert (await store.stats()).dropped_by_class == dropped
    [warning] = [e for e in logs if e["event"] == "store_aged_out"]
    assert (warning["dropped_summary"], warning["dropped_reading"]) == (1, 2)


async def test_items_that_aged_out_while_the_agent_was_down_are_dropped_at_startup(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store(max_age_days=1)
    await store.put([item(ItemClass.EVENT, 0)])
    await store.close()
    clock.now += 2 * 86400

    again = await make_store(max_age_days=1)
    stats = await again.stats()
    assert (stats.depth, stats.dropped_by_class["event"]) == (0, 1)


async def test_sent_items_stay_for_tail_then_are_pruned_without_counting_as_drops(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store(keep_sent_hours=1)
    stored = await store.put([item(ItemClass.EVENT, n) for n in range(3)])
    await store.mark_sent([stored[0].id, stored[1].id])
    clock.now += 1800
    await store.prune()
    assert len(await store.tail()) == 3, "sent items are still shown within keep_sent_hours"

    clock.now += 3600
    assert await store.prune() == {"summary": 0, "event": 0, "reading": 0}
    assert [t.seq for t in await store.tail()] == [3]
    assert (await store.stats()).dropped_by_class == {"summary": 0, "event": 0, "reading": 0}
