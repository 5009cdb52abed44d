"""The outbox as the uplink, drivers and the CLI see it: accept, list, mark sent, reopen."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import uuid
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edge_agent.settings.store import StoreSettings
from edge_agent.store import (
    ItemClass,
    NewItem,
    Store,
    StoredItem,
    StoreError,
    StoreErrorReason,
    outbox,
)
from tests.unit.store.store_helpers import T0, FakeClock, StoreFactory, item


async def test_put_returns_items_with_increasing_seq_and_time_ordered_unique_ids(
    make_store: StoreFactory,
) -> None:
    store = await make_store()
    stored = await store.put([item(ItemClass.EVENT, n) for n in range(50)])

    assert [s.seq for s in stored] == list(range(1, 51))
    ids = [s.id for s in stored]
    assert len(set(ids)) == 50
    assert ids == sorted(ids), "ids must sort like seq (time-ordered)"
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert [s.data["n"] for s in stored] == list(range(50))


async def test_submitted_items_are_all_committed_in_submission_order_after_flush(
    make_store: StoreFactory,
) -> None:
    store = await make_store(commit_max_items=7)
    for n in range(100):
        store.submit(item(ItemClass(n % 3), n))
    await store.flush()

    rows = await store.tail(0, 1000)
    assert [r.data["n"] for r in rows] == list(range(100))
    assert [r.seq for r in rows] == list(range(1, 101))


async def test_flush_with_nothing_submitted_returns_at_once(make_store: StoreFactory) -> None:
    store = await make_store()
    await store.flush()
    assert (await store.stats()).last_seq == 0


async def test_pending_lists_summaries_then_events_then_readings_oldest_first(
    make_store: StoreFactory,
) -> None:
    store = await make_store()
    classes = [ItemClass.READING, ItemClass.EVENT, ItemClass.SUMMARY] * 3
    await store.put([item(c, n) for n, c in enumerate(classes)])

    pending = await store.pending(100)
    assert [(p.cls, p.data["n"]) for p in pending] == [
        (ItemClass.SUMMARY, 2),
        (ItemClass.SUMMARY, 5),
        (ItemClass.SUMMARY, 8),
        (ItemClass.EVENT, 1),
        (ItemClass.EVENT, 4),
        (ItemClass.EVENT, 7),
        (ItemClass.READING, 0),
        (ItemClass.READING, 3),
        (ItemClass.READING, 6),
    ]
    assert [p.data["n"] for p in await store.pending(4)] == [2, 5, 8, 1]


async def test_pending_leaves_out_the_kinds_and_classes_it_is_told_to(
    make_store: StoreFactory,
) -> None:
    # the uplink skips topics the broker refuses for now, however many rows they hold
    store = await make_store()
    kinds = ["queue", "footfall"] * 3
    await store.put(
        [NewItem(ItemClass.EVENT, k, "dev-1", T0, {"n": n}) for n, k in enumerate(kinds)]
    )
    await store.put([item(ItemClass.READING, 10), item(ItemClass.SUMMARY, 11)])

    left = await store.pending(
        3, exclude=[(int(ItemClass.EVENT), "queue"), (int(ItemClass.READING), None)]
    )
    assert [(p.kind, p.data["n"]) for p in left] == [
        ("summary_kind", 11),
        ("footfall", 1),
        ("footfall", 3),
    ]
    assert len(await store.pending(100)) == 8  # nothing was marked or lost


async def test_marked_items_leave_pending_and_unknown_or_repeated_ids_count_zero(
    make_store: StoreFactory,
) -> None:
    store = await make_store()
    await store.put([item(ItemClass.EVENT, n) for n in range(10)])
    first = await store.pending(4)

    assert await store.mark_sent([p.id for p in first] + ["not-an-id"]) == 4
    assert await store.mark_sent([first[0].id]) == 0
    remaining = await store.pending(100)
    assert [p.data["n"] for p in remaining] == list(range(4, 10))
    assert (await store.stats()).depth == 6


async def test_tail_shows_sent_and_unsent_items_filtered_by_kind_and_device(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store()
    await store.put(
        [
            NewItem(ItemClass.EVENT, "door", "lobby", 1.0, {"n": 0}),
            NewItem(ItemClass.READING, "co2", "sensor", 2.0, {"n": 1}),
            NewItem(ItemClass.EVENT, "door", "vault", 3.0, {"n": 2}),
        ]
    )
    [door] = await store.pending(1)
    await store.mark_sent([door.id])

    everything = await store.tail()
    assert [(t.seq, t.sent_at) for t in everything] == [(1, clock.now), (2, None), (3, None)]
    assert [t.seq for t in await store.tail(kinds=["door"])] == [1, 3]
    assert [t.seq for t in await store.tail(kinds=["door"], device="vault")] == [3]
    assert [t.seq for t in await store.tail(after_seq=1, limit=1)] == [2]
    assert await store.tail(kinds=[]) == []


async def test_commit_listener_hears_every_committed_item_once_in_seq_order(
    make_store: StoreFactory,
) -> None:
    store = await make_store(commit_max_items=10)
    heard: list[StoredItem] = []
    store.add_commit_listener(heard.extend)
    for n in range(35):
        store.submit(item(ItemClass.READING, n))
    await store.flush()
    await store.put([item(ItemClass.SUMMARY, 99)])

    assert [h.seq for h in heard] == list(range(1, 37))
    assert [h.data["n"] for h in heard] == [*range(35), 99]
    assert heard == await store.tail(0, 100)


async def test_a_failing_listener_is_logged_and_does_not_stop_commits(
    make_store: StoreFactory,
) -> None:
    store = await make_store()
    heard: list[int] = []

    def broken(items: object) -> None:
        raise RuntimeError("listener bug")

    store.add_commit_listener(broken)
    store.add_commit_listener(lambda items: heard.extend(i.seq for i in items))
    with capture_logs() as logs:
        store.submit(item())
        await store.flush()
        store.submit(item(n=1))
        await store.flush()

    assert heard == [1, 2]
    assert sum(1 for e in logs if e["event"] == "store_listener_failed") == 2


async def test_items_survive_restart_and_seq_is_never_reused(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = StoreSettings(commit_interval_ms=2, keep_sent_hours=0)
    store = Store(tmp_path / "edge-agent.db", settings, clock=clock)
    await store.open()
    stored = await store.put([item(ItemClass.EVENT, n) for n in range(5)])
    await store.mark_sent([s.id for s in stored])
    clock.now += 1
    await store.prune()  # sent and past keep_sent_hours=0: every row is gone
    assert await store.tail() == []
    store.submit(item(n=5))
    await store.close()  # close commits what was submitted just before it

    again = Store(tmp_path / "edge-agent.db", settings, clock=clock)
    await again.open()
    try:
        [survivor] = await again.tail()
        assert (survivor.seq, survivor.data["n"]) == (6, 5)
        [new] = await again.put([item(n=6)])
        assert new.seq == 7
    finally:
        await again.close()


@pytest.mark.parametrize(
    "data",
    [{"x": math.nan}, {"x": math.inf}, {"x": object()}, {"x": {1, 2}}, {"x": b"bytes"}],
    ids=["nan", "inf", "object", "set", "bytes"],
)
async def test_non_json_item_data_is_rejected_at_once_and_the_store_keeps_working(
    make_store: StoreFactory, data: dict[str, object]
) -> None:
    store = await make_store()
    bad = NewItem(ItemClass.EVENT, "x", None, 1.0, data)

    with pytest.raises(StoreError) as submitted:
        store.submit(bad)
    with pytest.raises(StoreError) as put:
        await store.put([item(n=0), bad])

    assert submitted.value.reason == put.value.reason == StoreErrorReason.INVALID_ITEM
    store.submit(item(n=1))
    await store.flush()
    assert [t.data["n"] for t in await store.tail()] == [1], "put of a bad batch commits nothing"


@pytest.mark.parametrize(
    "bad",
    [
        NewItem(ItemClass.EVENT, "x", None, math.nan),
        NewItem(ItemClass.EVENT, "", None, 1.0),
        NewItem(ItemClass.EVENT, "x", 42, 1.0),  # type: ignore[arg-type]
        NewItem(7, "x", None, 1.0),  # type: ignore[arg-type]
        NewItem(ItemClass.EVENT, "x", None, 1.0, ["not", "a", "dict"]),  # type: ignore[arg-type]
    ],
    ids=["nan-ts", "empty-kind", "int-device", "unknown-class", "list-data"],
)
async def test_malformed_items_are_rejected_with_invalid_item(
    make_store: StoreFactory, bad: NewItem
) -> None:
    store = await make_store()
    with pytest.raises(StoreError) as err:
        store.submit(bad)
    assert err.value.reason == StoreErrorReason.INVALID_ITEM


async def test_stats_report_depth_by_class_oldest_age_and_totals(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store()
    await store.put([item(ItemClass.READING, 0), item(ItemClass.EVENT, 1)])
    clock.now += 30
    stored = await store.put([item(ItemClass.SUMMARY, 2), item(ItemClass.READING, 3)])
    await store.mark_sent([stored[0].id])
    clock.now += 10

    stats = await store.stats()
    assert stats.depth == 3
    assert stats.depth_by_class == {"summary": 0, "event": 1, "reading": 2}
    assert stats.oldest_age_s == pytest.approx(40)
    assert (stats.accepted_total, stats.last_seq) == (4, 4)
    assert stats.dropped_by_class == {"summary": 0, "event": 0, "reading": 0}
    assert stats.db_size_bytes > 0
    assert (stats.error, stats.held_in_memory) == (None, 0)
    assert store.health is None
    assert store.health_reason() == "ok"


async def test_accepted_after_and_before_split_live_items_from_backlog(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store()
    await store.put([item(ItemClass.READING, 0), item(ItemClass.EVENT, 1)])
    session_start = clock.now + 5
    clock.now = session_start
    await store.put([item(ItemClass.READING, 2)])  # accepted exactly at the split
    clock.now += 5
    await store.put([item(ItemClass.EVENT, 3)])

    backlog = await store.pending(10, accepted_before=session_start)
    live = await store.pending(10, accepted_after=session_start)
    assert [b.data["n"] for b in backlog] == [1, 0]
    assert [x.data["n"] for x in live] == [3, 2]
    window = await store.pending(10, accepted_after=session_start, accepted_before=clock.now)
    assert [w.data["n"] for w in window] == [2]


async def test_accepted_at_never_goes_backwards_when_the_clock_steps_back(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = await make_store()
    [first] = await store.put([item(n=0)])
    clock.now -= 3600  # NTP step
    [second] = await store.put([item(n=1)])

    assert second.accepted_at >= first.accepted_at
    assert [p.seq for p in await store.pending(10)] == [1, 2]


async def test_second_store_on_the_same_data_dir_reports_locked(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    await make_store()
    other = Store(tmp_path / "edge-agent.db", StoreSettings())
    with pytest.raises(StoreError) as err:
        await other.open()
    assert err.value.reason == StoreErrorReason.LOCKED


async def test_database_written_by_a_newer_edge_agent_reports_schema_too_new(
    tmp_path: Path,
) -> None:
    path = tmp_path / "edge-agent.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    conn.close()
    store = Store(path, StoreSettings())
    with pytest.raises(StoreError) as err:
        await store.open()
    assert err.value.reason == StoreErrorReason.SCHEMA_TOO_NEW
    assert "99" in err.value.message
    # the lock was released: a fixed build could open it now
    await store.close()


async def test_a_file_that_is_not_a_database_reports_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "edge-agent.db"
    path.write_bytes(b"this is a text file, not SQLite " * 200)
    store = Store(path, StoreSettings())
    with pytest.raises(StoreError) as err:
        await store.open()
    assert err.value.reason == StoreErrorReason.CORRUPT


async def test_a_closed_store_reports_closed(make_store: StoreFactory) -> None:
    store = await make_store()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError) as submitted:
        store.submit(item())
    with pytest.raises(StoreError) as read:
        await store.pending(1)
    assert submitted.value.reason == read.value.reason == StoreErrorReason.CLOSED


async def test_pending_reads_the_unsent_index_instead_of_scanning_the_outbox(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    """With a million-row backlog a table scan or sort per batch would stall the drain."""
    store = await make_store()
    await store.put([item(n=0)])
    conn = sqlite3.connect(tmp_path / "edge-agent.db")
    statements: list[str] = []
    try:
        conn.set_trace_callback(statements.append)
        outbox.pending(conn, 5, accepted_after=1.0, accepted_before=2e9)
        conn.set_trace_callback(None)
        plans = [
            " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in statements
        ]
    finally:
        conn.close()
    assert len(plans) == 3, "one range scan per class"
    for plan in plans:
        assert "INDEX outbox_unsent" in plan
        assert "TEMP B-TREE" not in plan


async def test_items_submitted_from_worker_threads_are_all_committed_without_seq_gaps(
    make_store: StoreFactory,
) -> None:
    """Vision workers hand items over from their own threads."""
    store = await make_store(commit_max_items=64)

    def worker(w: int) -> None:
        for n in range(500):
            store.submit(item(ItemClass.READING, w * 1000 + n))

    await asyncio.gather(*(asyncio.to_thread(worker, w) for w in range(4)))
    await store.flush()

    rows = await store.tail(0, 5000)
    assert [r.seq for r in rows] == list(range(1, 2001))
    assert sorted(r.data["n"] for r in rows) == sorted(
        w * 1000 + n for w in range(4) for n in range(500)
    )
    for w in range(4):  # each thread's own items keep their order
        mine = [r.data["n"] for r in rows if r.data["n"] // 1000 == w]
        assert mine == sorted(mine)


async def test_a_write_op_that_raises_fails_its_caller_and_the_store_goes_on(
    make_store: StoreFactory,
) -> None:
    # Not an SQLite error: a bug in an op. Its caller must get an error, not wait forever, and
    # the writer thread must live on for everyone else.
    store = await make_store()
    with pytest.raises(StoreError) as info:
        await asyncio.wait_for(store._write(lambda _c: 1 // 0), timeout=5)
    assert info.value.reason is StoreErrorReason.IO_ERROR
    assert [s.data["n"] for s in await store.put([item(ItemClass.EVENT, 7)])] == [7]
