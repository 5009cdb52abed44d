"""Store ingest vs raw sqlite3, and the million-item backlog drain, measured in the same run.

    .venv/bin/python -m bench.store [INGEST_EVENTS] [BACKLOG_ITEMS]   # defaults 200_000 1_000_000

Ingest: events/s through `Store.submit` + one `flush`, against a raw loop that builds the very
same rows (UUIDv7 id, JSON data, explicit seq) and inserts them with `executemany`, one
transaction per `commit_max_items` batch, on the same schema (indexes included) with the same
pragmas (WAL, synchronous=FULL). Best of three for each, interleaved, to tame a shared machine.

Drain: a backlog of BACKLOG_ITEMS unsent items drained the way the uplink does it, `pending(1000)`
then `mark_sent(ids)`, until empty. Target: under a minute for a million.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from edge_agent.settings.store import StoreSettings
from edge_agent.store import ItemClass, NewItem, Store
from edge_agent.store.ids import UUIDv7
from edge_agent.store.outbox import INSERT_SQL
from edge_agent.store.schema import connect, migrate

SETTINGS = StoreSettings()  # production defaults: 20 ms window, 5000 per commit, FULL
ROUNDS = 3


def make_items(n: int) -> list[NewItem]:
    now = time.time()
    return [
        NewItem(
            ItemClass.EVENT, "footfall", "cam-entrance", now, {"n": i, "dir": "in", "zone": "lobby"}
        )
        for i in range(n)
    ]


async def store_ingest(path: Path, items: list[NewItem]) -> float:
    store = Store(path, SETTINGS)
    await store.open()
    try:
        start = time.perf_counter()
        for item in items:
            store.submit(item)
        await store.flush()
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    return len(items) / elapsed


def raw_ingest(path: Path, items: list[NewItem]) -> float:
    conn = connect(path, synchronous=SETTINGS.synchronous)
    migrate(conn)
    conn.isolation_level = None
    new_id = UUIDv7(time.time)
    batch = SETTINGS.commit_max_items
    start = time.perf_counter()
    seq = 1
    for lo in range(0, len(items), batch):
        now = time.time()
        rows = []
        for item in items[lo : lo + batch]:
            data = json.dumps(item.data, separators=(",", ":"), allow_nan=False)
            rows.append((seq, new_id(), int(item.cls), item.kind, item.device, item.ts, now, data))
            seq += 1
        conn.execute("BEGIN")
        conn.executemany(INSERT_SQL, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(items) / elapsed


def build_backlog(path: Path, n: int) -> None:
    """Fill the outbox fast (not timed): mixed classes, as after a long 5G outage."""
    conn = connect(path, synchronous="normal")
    migrate(conn)
    new_id = UUIDv7(time.time)
    now = time.time() - 3600
    data = json.dumps({"n": 0, "value": 412.5, "unit": "ppm"})
    classes = (2, 2, 2, 2, 1, 1, 0)  # mostly readings, some events, a few summaries
    for lo in range(0, n, 50_000):
        rows = [
            (s, new_id(), classes[s % 7], "co2", "sensor-1", now, now + s / 1000, data)
            for s in range(lo + 1, min(lo + 50_000, n) + 1)
        ]
        with conn:
            conn.executemany(INSERT_SQL, rows)
    conn.close()


async def drain(path: Path, n: int) -> tuple[float, float, float, int]:
    """(seconds to drain, first pending() ms, live-split pending() ms, items drained)."""
    store = Store(path, SETTINGS)
    await store.open()
    try:
        t = time.perf_counter()
        await store.pending(1000)
        first_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        await store.pending(1000, accepted_after=time.time())  # the live query skips the backlog
        live_ms = (time.perf_counter() - t) * 1000
        drained = 0
        start = time.perf_counter()
        for _ in range(n // 1000 + 2):
            batch = await store.pending(1000)
            if not batch:
                break
            drained += await store.mark_sent([b.id for b in batch])
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    return elapsed, first_ms, live_ms, drained


def main() -> None:
    n_ingest = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    n_backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    items = make_items(n_ingest)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as d:
        tmp = Path(d)
        store_rates, raw_rates = [], []
        for r in range(ROUNDS):
            raw_rates.append(raw_ingest(tmp / f"raw-{r}.db", items))
            store_rates.append(
                asyncio.run(store_ingest(tmp / f"store-{r}" / "edge-agent.db", items))
            )
        raw, ours = max(raw_rates), max(store_rates)
        print(
            f"store ingest (submit+flush) : {ours:>10,.0f} events/s  (best of {ROUNDS}, {n_ingest:,} events)"
        )
        print(f"raw sqlite3 executemany     : {raw:>10,.0f} events/s  (same rows, schema, pragmas)")
        print(f"ratio store/raw             : {ours / raw:>10.2f}x       (target >= 0.5x)")

        backlog = tmp / "backlog" / "edge-agent.db"
        backlog.parent.mkdir()
        t = time.perf_counter()
        build_backlog(backlog, n_backlog)
        built = time.perf_counter() - t
        elapsed, first_ms, live_ms, drained = asyncio.run(drain(backlog, n_backlog))
        assert drained == n_backlog, f"drained {drained} of {n_backlog}"
        print(
            f"backlog built               : {n_backlog:>10,} items in {built:.1f} s (untimed setup)"
        )
        print(
            f"pending(1000) on backlog    : {first_ms:>10.1f} ms; live-split query {live_ms:.1f} ms"
        )
        print(
            f"drain pending+mark_sent     : {n_backlog / elapsed:>10,.0f} items/s  "
            f"({elapsed:.1f} s for {n_backlog:,}; target < 60 s)"
        )


if __name__ == "__main__":
    main()
