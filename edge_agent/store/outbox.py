"""Outbox SQL: insert, pending, mark-sent, tail and backlog figures, on a plain sqlite3 connection.

Synchronous on purpose: the Store runs these on its writer or reader thread, and the property
tests call them directly on an in-memory database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import StoreError, StoreErrorReason
from .items import ItemClass, StoredItem

INSERT_SQL = (
    "INSERT INTO outbox (seq, id, cls, kind, device, ts, accepted_at, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = "seq, id, cls, kind, device, ts, accepted_at, data, sent_at"
#: Row layout handed to INSERT_SQL.
Row = tuple[int, str, int, str, str | None, float, float, str]
_CLASSES = {int(c): c for c in ItemClass}
_decode = json.JSONDecoder().decode  # skips json.loads' per-call argument checks (hot drain path)
#: Ids per UPDATE in mark_sent; far below SQLite's 32766 bound-parameter limit.
_MARK_CHUNK = 1000


def item_from_row(row: Sequence[Any]) -> StoredItem:
    """Build a StoredItem from a `_COLUMNS` row; damaged rows raise StoreError(corrupt)."""
    seq, id_, cls, kind, device, ts, accepted_at, data, sent_at = row
    try:
        return StoredItem(
            id=id_,
            seq=seq,
            cls=_CLASSES[cls],
            kind=kind,
            device=device,
            ts=ts,
            accepted_at=accepted_at,
            data=_decode(data),
            sent_at=sent_at,
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            StoreErrorReason.CORRUPT, f"outbox row seq={seq} is damaged: {exc}"
        ) from exc


def item_from_insert(row: Row, data: dict[str, Any]) -> StoredItem:
    """The StoredItem for a row just inserted (reuses the caller's dict: no JSON round trip)."""
    seq, id_, cls, kind, device, ts, accepted_at, _ = row
    return StoredItem(
        id=id_,
        seq=seq,
        cls=ItemClass(cls),
        kind=kind,
        device=device,
        ts=ts,
        accepted_at=accepted_at,
        data=data,
    )


def insert_rows(conn: sqlite3.Connection, rows: Iterable[Row]) -> None:
    conn.executemany(INSERT_SQL, rows)


def last_seq(conn: sqlite3.Connection) -> int:
    """The highest seq ever accepted (AUTOINCREMENT keeps it even after pruning)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    top = conn.execute("SELECT max(seq) FROM outbox").fetchone()[0]
    return max(int(row[0]) if row else 0, int(top or 0))


def last_accepted_at(conn: sqlite3.Connection) -> float:
    row = conn.execute("SELECT accepted_at FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
    return float(row[0]) if row else 0.0


def shift_accepted(
    conn: sqlite3.Connection, by_s: float, *, from_seq: int, floor: float, cap: float
) -> int:
    """Move `accepted_at` of the rows from `from_seq` on by `by_s`, to no later than `cap` (now)
    and no earlier than `floor` (the stamp of the row before them): stamps still never decrease
    with seq. Returns how many rows moved."""
    return int(
        conn.execute(
            "UPDATE outbox SET accepted_at = max(min(accepted_at + ?, ?), ?) WHERE seq >= ?",
            (by_s, cap, floor, from_seq),
        ).rowcount
    )


def accepted_before(conn: sqlite3.Connection, seq: int) -> float:
    """`accepted_at` of the last row before `seq` (0.0 if none)."""
    row = conn.execute(
        "SELECT accepted_at FROM outbox WHERE seq < ? ORDER BY seq DESC LIMIT 1", (seq,)
    ).fetchone()
    return float(row[0]) if row else 0.0


def pending(
    conn: sqlite3.Connection,
    limit: int,
    *,
    accepted_after: float | None = None,
    accepted_before: float | None = None,
    exclude: Sequence[tuple[int, str | None]] = (),
) -> list[StoredItem]:
    """Unsent items, summaries first, then events, then readings; oldest first inside a class.

    `accepted_after` is inclusive and `accepted_before` exclusive, so splitting at one instant
    (the uplink's session start) puts every item in exactly one of "live" and "backlog".
    `exclude` leaves out rows by (class, kind), or a whole class where kind is None: the
    uplink's topics that the broker refuses for now.
    """
    if limit <= 0:
        return []
    where = ["sent_at IS NULL", "cls = ?"]
    bounds: list[float] = []
    if accepted_after is not None:
        where.append("accepted_at >= ?")
        bounds.append(accepted_after)
    if accepted_before is not None:
        where.append("accepted_at < ?")
        bounds.append(accepted_before)
    # One indexed range scan per class beats one ORDER BY over a million-row filter.
    # Only constant fragments are spliced in; every value is a bound parameter.
    sql = (
        f"SELECT {_COLUMNS} FROM outbox INDEXED BY outbox_unsent WHERE {' AND '.join(where)} "  # noqa: S608
        "ORDER BY accepted_at, seq LIMIT ?"
    )
    out: list[StoredItem] = []
    for cls in ItemClass:
        room = limit - len(out)
        if room <= 0:
            break
        if (int(cls), None) in exclude:
            continue
        kinds = sorted({k for c, k in exclude if c == int(cls) and k is not None})
        query = sql
        if kinds:
            marks = ", ".join("?" * len(kinds))
            query = sql.replace(" ORDER BY", f" AND kind NOT IN ({marks}) ORDER BY", 1)
        rows = conn.execute(query, (int(cls), *bounds, *kinds, room)).fetchall()
        out.extend(item_from_row(r) for r in rows)
    return out


def mark_sent(conn: sqlite3.Connection, ids: Sequence[str], now: float) -> int:
    """Stamp unsent items as sent. Unknown or already-sent ids are ignored; returns the count."""
    # One UPDATE ... IN (...) per chunk is ~1.5x faster than executemany of 1000 single UPDATEs.
    marked = 0
    unique = list(dict.fromkeys(ids))
    for lo in range(0, len(unique), _MARK_CHUNK):
        chunk = unique[lo : lo + _MARK_CHUNK]
        marks = ", ".join("?" * len(chunk))
        cur = conn.execute(
            f"UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL AND id IN ({marks})",  # noqa: S608
            (now, *chunk),
        )
        marked += max(cur.rowcount, 0)
    return marked


def tail(
    conn: sqlite3.Connection,
    after_seq: int,
    limit: int,
    *,
    kinds: Sequence[str] | None = None,
    device: str | None = None,
    newest: bool = False,
) -> list[StoredItem]:
    """Accepted items (sent or not) after `after_seq`, in seq order, optionally filtered: the
    first `limit` of them, or with `newest` the last `limit`."""
    if limit <= 0 or (kinds is not None and not kinds):
        return []
    where = ["seq > ?"]
    args: list[Any] = [after_seq]
    if kinds is not None:
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        args.extend(kinds)
    if device is not None:
        where.append("device = ?")
        args.append(device)
    # Only constant fragments (and one `?` per kind) are spliced in.
    order = "DESC" if newest else "ASC"
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"  # noqa: S608
    rows = conn.execute(sql, (*args, limit)).fetchall()
    return [item_from_row(r) for r in (reversed(rows) if newest else rows)]


def unsent_by_class(conn: sqlite3.Connection) -> dict[ItemClass, tuple[int, float | None]]:
    """Per class: (unsent count, oldest accepted_at), both answered from the partial index."""
    out: dict[ItemClass, tuple[int, float | None]] = {}
    for cls in ItemClass:
        count, oldest = conn.execute(
            "SELECT count(*), min(accepted_at) FROM outbox INDEXED BY outbox_unsent "
            "WHERE sent_at IS NULL AND cls = ?",
            (int(cls),),
        ).fetchone()
        out[cls] = (int(count), None if oldest is None else float(oldest))
    return out
