"""Property tests: the capacity policy, pending/mark_sent ordering, the hold queue, ids, and
fuzzing of item data and of damaged database files."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.settings.store import StoreSettings
from edge_agent.store import (
    ItemClass,
    NewItem,
    Store,
    StoreError,
    StoreErrorReason,
    capacity,
    outbox,
)
from edge_agent.store.checks import check_item
from edge_agent.store.hold import Entry, HoldQueue
from edge_agent.store.ids import UUIDv7
from edge_agent.store.schema import connect, migrate
from tests.unit.store.store_helpers import FakeClock

classes = st.sampled_from(list(ItemClass))


@contextmanager
def memory_db() -> Iterator[sqlite3.Connection]:
    conn = connect(":memory:", synchronous="normal")
    migrate(conn)
    try:
        yield conn
    finally:
        conn.close()


def insert(conn: sqlite3.Connection, cls_list: list[ItemClass], accepted: list[float]) -> None:
    rows: list[outbox.Row] = [
        (seq, f"id-{seq:06d}", int(c), "k", None, 0.0, accepted[seq - 1], "{}")
        for seq, c in enumerate(cls_list, start=1)
    ]
    outbox.insert_rows(conn, rows)


def nondecreasing(n: int) -> st.SearchStrategy[list[float]]:
    """accepted_at as the writer stamps it: never decreasing with seq, often equal (one batch)."""
    return st.lists(st.integers(0, 3), min_size=n, max_size=n).map(
        lambda steps: [float(sum(steps[: i + 1])) for i in range(n)]
    )


@st.composite
def outboxes(draw: st.DrawFn) -> tuple[list[ItemClass], list[float], dict[int, float]]:
    cls_list = draw(st.lists(classes, max_size=60))
    accepted = draw(nondecreasing(len(cls_list)))
    sent_seqs = draw(st.sets(st.integers(1, max(len(cls_list), 1))).map(sorted))
    sent = {seq: float(draw(st.integers(0, 5))) for seq in sent_seqs if seq <= len(cls_list)}
    return cls_list, accepted, sent


@given(outboxes(), st.integers(0, 70), st.integers(0, 70))
def test_capacity_drops_sent_then_lowest_class_oldest_first_and_counters_add_up(
    box: tuple[list[ItemClass], list[float], dict[int, float]], first: int, second: int
) -> None:
    cls_list, accepted, sent = box
    with memory_db() as conn:
        insert(conn, cls_list, accepted)
        for seq, at in sent.items():
            conn.execute("UPDATE outbox SET sent_at = ? WHERE seq = ?", (at, seq))

        # The policy's order of sacrifice, computed independently.
        order = sorted(sent, key=lambda s: (sent[s], s))
        for cls in (ItemClass.READING, ItemClass.EVENT, ItemClass.SUMMARY):
            order += [s for s, c in enumerate(cls_list, 1) if c == cls and s not in sent]

        total = capacity.DropReport()
        for n in (first, second):
            report = capacity.drop_oldest(conn, n)
            capacity.add_drops(conn, report.dropped, capacity.DropReason.CAPACITY)
            total.add(report)

        victims = order[: first + second]
        left = {r[0] for r in conn.execute("SELECT seq FROM outbox")}
        assert left == set(range(1, len(cls_list) + 1)) - set(victims)
        assert total.sent_pruned == sum(1 for v in victims if v in sent)
        for cls in ItemClass:
            unsent_victims = [v for v in victims if v not in sent and cls_list[v - 1] == cls]
            assert total.dropped[cls] == len(unsent_victims)
        assert capacity.drop_counts(conn) == total.dropped


@given(
    st.lists(classes, max_size=80),
    st.data(),
)
def test_pending_and_mark_sent_hand_out_every_item_once_in_priority_order(
    cls_list: list[ItemClass], data: st.DataObject
) -> None:
    accepted = data.draw(nondecreasing(len(cls_list)))
    with memory_db() as conn:
        insert(conn, cls_list, accepted)
        unsent = set(range(1, len(cls_list) + 1))
        delivered: list[int] = []
        for _ in range(len(cls_list) + 2):
            if not unsent:
                break
            limit = data.draw(st.integers(1, 20))
            split = data.draw(st.one_of(st.none(), st.floats(0, 300, allow_nan=False)))
            live = data.draw(st.booleans())
            bounds = {"accepted_after": split} if live else {"accepted_before": split}
            got = outbox.pending(conn, limit, **bounds)

            def in_window(seq: int, split: float | None = split, live: bool = live) -> bool:
                at = accepted[seq - 1]
                return split is None or (at >= split if live else at < split)

            expected = sorted(
                (s for s in unsent if in_window(s)), key=lambda s: (cls_list[s - 1], s)
            )[:limit]
            assert [g.seq for g in got] == expected
            picked = [g for g in got if data.draw(st.booleans())] or got[:1]
            ids = [g.id for g in picked]
            assert outbox.mark_sent(conn, ids + ids, now=1.0) == len(picked)
            assert outbox.mark_sent(conn, ids, now=2.0) == 0
            unsent -= {g.seq for g in picked}
            delivered += [g.seq for g in picked]
        # drain what is left, as the uplink does
        for _ in range(len(cls_list) + 1):
            batch = outbox.pending(conn, 7)
            if not batch:
                break
            assert outbox.mark_sent(conn, [b.id for b in batch], now=3.0) == len(batch)
            delivered += [b.seq for b in batch]
        assert sorted(delivered) == list(range(1, len(cls_list) + 1))


@given(st.lists(st.tuples(classes, st.booleans()), max_size=80), st.integers(1, 30))
def test_hold_queue_keeps_the_newest_highest_priority_items_when_over_its_bound(
    submissions: list[tuple[ItemClass, bool]], limit: int
) -> None:
    hold = HoldQueue(limit)
    entries: list[Entry] = [
        (ticket, int(cls), "k", None, 0.0, "{}", {})
        for ticket, (cls, _) in enumerate(submissions, 1)
    ]
    dropped = dict.fromkeys(ItemClass, 0)
    for entry in entries:  # one at a time, as the writer would while the disk stays full
        for cls, n in hold.extend([entry]).items():
            dropped[cls] += n
    kept = hold.take_all()

    assert len(kept) == min(limit, len(entries))
    assert [k[0] for k in kept] == sorted(k[0] for k in kept), "submission order is kept"
    for cls in ItemClass:
        of_class = [e for e in entries if e[1] == cls]
        kept_of_class = [k for k in kept if k[1] == cls]
        assert dropped[cls] == len(of_class) - len(kept_of_class)
        # within a class, the survivors are the newest ones
        assert kept_of_class == of_class[len(of_class) - len(kept_of_class) :]
    # a class loses items only once every lower-priority item that arrived before is gone
    for cls in ItemClass:
        if dropped[cls]:
            for lower in ItemClass:
                if lower > cls:
                    newest_drop = max(
                        (e[0] for e in entries if e[1] == cls and e not in kept), default=0
                    )
                    assert not any(k[1] == lower and k[0] < newest_drop for k in kept), (
                        f"{lower.label} kept while an older {cls.label} was dropped"
                    )
    assert len(hold) == 0


@given(st.lists(st.floats(0, 4e12 / 1000, allow_nan=False), min_size=1, max_size=200))
def test_ids_are_unique_valid_uuid7_and_sort_in_generation_order_even_if_the_clock_steps_back(
    times: list[float],
) -> None:
    clock = FakeClock(times[0])
    new_id = UUIDv7(clock)
    ids = []
    for t in times:
        clock.now = t
        ids.append(new_id())
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_arbitrary_item_data_is_kept_verbatim_or_rejected_as_invalid_item(
    data: dict[str, object],
) -> None:
    """What submit() checks before an item may join a group commit (one bad item must never
    poison a batch); the stored text must read back as the very same data."""
    try:
        _, _, _, _, text, original = check_item(NewItem(ItemClass.EVENT, "fuzz", None, 1.0, data))
    except StoreError as exc:
        assert exc.reason == StoreErrorReason.INVALID_ITEM
        return
    assert original is data
    assert json.loads(text) == data


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40, deadline=None
)
@given(st.data())
def test_a_damaged_database_file_yields_store_errors_never_raw_exceptions(
    tmp_path: Path, data: st.DataObject
) -> None:
    """Bit rot or a half-copied file must surface as StoreError(corrupt/...) for health."""
    template = tmp_path / "template.db"
    if not template.exists():
        conn = connect(template, synchronous="normal")
        migrate(conn)
        insert(conn, [ItemClass(i % 3) for i in range(300)], [float(i) for i in range(300)])
        conn.commit()
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
    raw = bytearray(template.read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(raw))))
    damaged = bytes(raw if cut is None else raw[:cut])
    path = tmp_path / f"damaged-{uuid.uuid4().hex}" / "edge-agent.db"
    path.parent.mkdir()
    path.write_bytes(damaged)

    async def scenario() -> None:
        store = Store(path, StoreSettings(commit_interval_ms=0))
        try:
            await store.open()
        except StoreError:
            return
        try:
            for call in (
                lambda: store.pending(500),
                lambda: store.tail(0, 500),
                store.stats,
                store.device_states,
                lambda: store.put([NewItem(ItemClass.EVENT, "k", None, 1.0, {})]),
                lambda: store.mark_sent(["id-000001"]),
            ):
                with suppress(StoreError):
                    await call()
        finally:
            await store.close()

    asyncio.run(scenario())
