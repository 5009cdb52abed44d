"""Capacity policy: what goes when the outbox is too big or too old, and the drop counters.

Order of sacrifice (first to go first): items already sent (oldest first: they are only kept for
`events tail`), then unsent readings, then unsent events, then unsent summaries, oldest first
inside each. Only unsent items count as *dropped*: those are data headquarters will never see,
so their per-class counters are persisted and reported in `health`.

Size is measured as pages in use, `(page_count - freelist_count) * page_size`: SQLite reuses freed
pages but never shrinks the file without a VACUUM (which would need twice the space on a full
disk), so the file stays at its high-water mark while the data inside it obeys the cap.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from .items import ItemClass

#: Shrink to this fraction of the cap, so the next few commits do not trigger another round.
TARGET_FRACTION = 0.9
_MAX_ROUNDS = 8


class DropReason:
    CAPACITY = "capacity"  # over store.max_size_mb
    AGE = "age"  # older than store.max_age_days
    OVERFLOW = "overflow"  # in-memory hold queue full while the disk could not take writes


@dataclass
class DropReport:
    """What one enforcement pass removed."""

    dropped: dict[ItemClass, int] = field(default_factory=lambda: dict.fromkeys(ItemClass, 0))
    sent_pruned: int = 0

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def add(self, other: DropReport) -> None:
        for cls, n in other.dropped.items():
            self.dropped[cls] += n
        self.sent_pruned += other.sent_pruned

    def log_fields(self) -> dict[str, int]:
        """`dropped_<class>` keys (a bare `event` key would clash with the log event name)."""
        return {f"dropped_{cls.label}": n for cls, n in self.dropped.items()}


def used_bytes(conn: sqlite3.Connection) -> int:
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    return (pages - free) * page_size


def _delete_seqs(conn: sqlite3.Connection, select_sql: str, args: tuple[object, ...]) -> int:
    # select_sql is one of this module's constant queries, never user input.
    cur = conn.execute(f"DELETE FROM outbox WHERE seq IN ({select_sql})", args)  # noqa: S608
    return max(cur.rowcount, 0)


def drop_oldest(conn: sqlite3.Connection, n: int) -> DropReport:
    """Delete `n` outbox rows in policy order (see module doc). Call inside a transaction."""
    report = DropReport()
    left = n
    if left > 0:
        report.sent_pruned = _delete_seqs(
            conn,
            "SELECT seq FROM outbox INDEXED BY outbox_sent WHERE sent_at IS NOT NULL "
            "ORDER BY sent_at, seq LIMIT ?",
            (left,),
        )
        left -= report.sent_pruned
    for cls in sorted(ItemClass, reverse=True):
        if left <= 0:
            break
        gone = _delete_seqs(
            conn,
            "SELECT seq FROM outbox INDEXED BY outbox_unsent WHERE sent_at IS NULL AND cls = ? "
            "ORDER BY accepted_at, seq LIMIT ?",
            (int(cls), left),
        )
        report.dropped[cls] += gone
        left -= gone
    return report


def enforce_size(conn: sqlite3.Connection, max_bytes: int) -> DropReport:
    """Drop rows in policy order until the pages in use fit in TARGET_FRACTION of `max_bytes`."""
    report = DropReport()
    used = used_bytes(conn)
    if used <= max_bytes:
        return report
    target = int(max_bytes * TARGET_FRACTION)
    for _ in range(_MAX_ROUNDS):
        if used <= target:
            break
        rows = int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        if rows == 0:
            break  # what is left is commands/state/meta: nothing the policy may remove
        per_row = max(used / rows, 1.0)
        round_report = drop_oldest(conn, min(rows, math.ceil((used - target) / per_row) + 1))
        report.add(round_report)
        used = used_bytes(conn)
    return report


def expire(
    conn: sqlite3.Connection, *, now: float, max_age_s: float, keep_sent_s: float
) -> DropReport:
    """Prune sent items past `keep_sent_s` and drop unsent items past `max_age_s`."""
    report = DropReport()
    report.sent_pruned = max(
        conn.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (now - keep_sent_s,)
        ).rowcount,
        0,
    )
    cutoff = now - max_age_s
    for cls in ItemClass:
        report.dropped[cls] = _delete_seqs(
            conn,
            "SELECT seq FROM outbox INDEXED BY outbox_unsent WHERE sent_at IS NULL AND cls = ? "
            "AND accepted_at < ?",
            (int(cls), cutoff),
        )
    return report


def add_drops(conn: sqlite3.Connection, counts: Mapping[ItemClass, int], reason: str) -> None:
    """Add to the persisted per-class drop counters (inside the caller's transaction)."""
    conn.executemany(
        "INSERT INTO drops (cls, reason, count) VALUES (?, ?, ?) "
        "ON CONFLICT (cls, reason) DO UPDATE SET count = count + excluded.count",
        [(int(cls), reason, n) for cls, n in counts.items() if n > 0],
    )


def drop_counts(conn: sqlite3.Connection) -> dict[ItemClass, int]:
    """Persisted drops per class, all reasons together."""
    out = dict.fromkeys(ItemClass, 0)
    for cls, n in conn.execute("SELECT cls, sum(count) FROM drops GROUP BY cls"):
        if cls in ItemClass._value2member_map_:
            out[ItemClass(cls)] = int(n)
    return out
