"""Small side tables: last device state, the command audit trail, and key/value meta.

The outbox is the hot path; these rows change a few times a minute. Each write is an upsert
(`ON CONFLICT`), so replaying the same call is harmless; the audit keeps the *first* outcome.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .errors import StoreError, StoreErrorReason


def dumps(value: Any, what: str) -> str:
    """Strict JSON (no NaN, no arbitrary objects), or StoreError(invalid_item)."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            StoreErrorReason.INVALID_ITEM, f"{what} is not plain JSON: {exc}"
        ) from None


def loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(StoreErrorReason.CORRUPT, f"stored {what} is damaged: {exc}") from None


# -- device state -------------------------------------------------------------------------------


def save_device_state(conn: sqlite3.Connection, device_id: str, state: str, now: float) -> None:
    conn.execute(
        "INSERT INTO device_state (device_id, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (device_id) DO UPDATE SET "
        "state = excluded.state, updated_at = excluded.updated_at",
        (device_id, state, now),
    )


def delete_device_state(conn: sqlite3.Connection, device_id: str) -> None:
    conn.execute("DELETE FROM device_state WHERE device_id = ?", (device_id,))


def device_states(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT device_id, state FROM device_state ORDER BY device_id")
    return {device_id: loads(state, f"state of {device_id}") for device_id, state in rows}


# -- commands -----------------------------------------------------------------------------------

_SELECT_COMMANDS = (
    "SELECT id, request, source, received_at, outcome, result, finished_at FROM commands"
)


def command_row(
    request: dict[str, Any], result: dict[str, Any], *, received_at: float | None, now: float
) -> tuple[str, str, str, float, str, str, float]:
    """Validate and flatten one audit row (runs in the caller, so bad input fails fast)."""
    command_id = request.get("id")
    if not isinstance(command_id, str) or not command_id:
        raise StoreError(StoreErrorReason.INVALID_ITEM, "command request has no string `id`")
    if result.get("ok"):
        outcome = "ok"
    else:
        error = result.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        outcome = str(code) if code else "failed"
    received = received_at if received_at is not None else request.get("received_at", now)
    finished = result.get("ts", now)
    if not isinstance(received, int | float) or not isinstance(finished, int | float):
        raise StoreError(StoreErrorReason.INVALID_ITEM, "command timestamps must be numbers")
    return (
        command_id,
        dumps(request, "command request"),
        str(request.get("source", "unknown")),
        float(received),
        outcome,
        dumps(result, "command result"),
        float(finished),
    )


def command_record(conn: sqlite3.Connection, row: tuple[Any, ...]) -> bool:
    """Insert an audit row; the first outcome for an id wins. True when it was new."""
    cur = conn.execute(
        "INSERT INTO commands (id, request, source, received_at, outcome, result, finished_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        row,
    )
    return cur.rowcount > 0


def _command_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    id_, request, source, received_at, outcome, result, finished_at = row
    return {
        "id": id_,
        "request": loads(request, f"command {id_} request"),
        "source": source,
        "received_at": received_at,
        "outcome": outcome,
        "result": loads(result, f"command {id_} result"),
        "finished_at": finished_at,
    }


def command_get(conn: sqlite3.Connection, command_id: str) -> dict[str, Any] | None:
    row = conn.execute(_SELECT_COMMANDS + " WHERE id = ?", (command_id,)).fetchone()
    return None if row is None else _command_dict(row)


def audit(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """Newest first."""
    rows = conn.execute(
        _SELECT_COMMANDS + " ORDER BY finished_at DESC, rowid DESC LIMIT ?",
        (max(limit, 0),),
    )
    return [_command_dict(r) for r in rows]


def last_command_rowid(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(rowid), 0) FROM commands").fetchone()[0])


def shift_commands(conn: sqlite3.Connection, by_s: float, *, after_rowid: int, cap: float) -> int:
    """Move the times of the audit rows after `after_rowid` by `by_s` (a clock step), to no
    later than `cap` (now)."""
    return int(
        conn.execute(
            "UPDATE commands SET received_at = min(received_at + ?, ?), "
            "finished_at = min(finished_at + ?, ?) WHERE rowid > ?",
            (by_s, cap, by_s, cap, after_rowid),
        ).rowcount
    )


def prune_commands(conn: sqlite3.Connection, before: float) -> int:
    """Forget commands finished before `before`, all but the newest: it keeps the highest rowid
    taken, so rowids are never handed out again and "audited in this boot" stays `rowid > cmd0`
    (steps.py)."""
    return max(
        conn.execute(
            "DELETE FROM commands WHERE finished_at < ? "
            "AND rowid < (SELECT max(rowid) FROM commands)",
            (before,),
        ).rowcount,
        0,
    )


# -- meta ---------------------------------------------------------------------------------------


def meta_get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def meta_set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
