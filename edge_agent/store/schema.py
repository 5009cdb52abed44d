"""Connections, pragmas and versioned schema migrations for `edge-agent.db`.

Durability: WAL with `synchronous=FULL` by default. In WAL mode a transaction is durable against
a process crash (kill -9, OOM) at *any* synchronous level, because COMMIT has already written its
frames to the WAL through the OS page cache. What FULL adds is an fsync of the WAL on every
commit, so a power cut or kernel panic cannot roll back an item we called *accepted*. With NORMAL
the database stays consistent after a power cut but may lose the last transactions before it.
Group commit makes FULL cheap: one fsync per batch (every `commit_interval_ms`), not per item.
`store.synchronous: normal` is there for slow eMMC boards where the operator accepts that risk.

Migrations: `PRAGMA user_version` holds the number of steps applied. Each step runs in its own
transaction together with the version bump, so a crash mid-migration leaves the previous version.
A file with a higher version than this code knows raises `StoreError(schema_too_new)`: an older
agent must not write a newer schema it does not understand (e.g. after a rollback of the package).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import sqlite_utils

from .errors import StoreError, StoreErrorReason, as_store_error

Synchronous = Literal["full", "normal"]
Migration = Callable[[sqlite_utils.Database], None]


def _v1_initial(db: sqlite_utils.Database) -> None:
    # AUTOINCREMENT: a seq is never reused, even after the newest rows were pruned.
    db.execute(
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            cls INTEGER NOT NULL,
            kind TEXT NOT NULL,
            device TEXT,
            ts REAL NOT NULL,
            accepted_at REAL NOT NULL,
            data TEXT NOT NULL,
            sent_at REAL
        )
        """
    )
    # The uplink's hot query: unsent rows by class, then age. accepted_at never decreases with
    # seq (the writer clamps it), so (cls, accepted_at, rowid) is (cls, seq) order, and the
    # live/backlog split by accepted_at is a range scan instead of a filter over a million rows.
    db.execute("CREATE INDEX outbox_unsent ON outbox(cls, accepted_at) WHERE sent_at IS NULL")
    db.execute("CREATE INDEX outbox_sent ON outbox(sent_at) WHERE sent_at IS NOT NULL")
    db.create_table(
        "device_state", {"device_id": str, "state": str, "updated_at": float}, pk="device_id"
    )
    db.create_table(
        "commands",
        {
            "id": str,
            "request": str,
            "source": str,
            "received_at": float,
            "outcome": str,
            "result": str,
            "finished_at": float,
        },
        pk="id",
    )
    db.table("commands").create_index(["finished_at"], index_name="commands_finished")
    db.create_table("meta", {"key": str, "value": str}, pk="key")
    db.create_table(
        "drops", {"cls": int, "reason": str, "count": int}, pk=("cls", "reason"), not_null={"count"}
    )


#: Append-only. Never edit a released step; add a new one.
MIGRATIONS: list[Migration] = [_v1_initial]
SCHEMA_VERSION = len(MIGRATIONS)


def connect(
    path: Path | str, *, synchronous: Synchronous, query_only: bool = False
) -> sqlite3.Connection:
    """Open the database with the store's pragmas. `query_only` connections cannot write."""
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        if not query_only:
            conn.execute("PRAGMA journal_mode=WAL")
            # Keep the WAL from staying at its high-water mark after a big backlog burst.
            conn.execute(f"PRAGMA journal_size_limit={16 * 1024 * 1024}")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA cache_size=-16000")  # 16 MB: keeps index pages hot while draining
        conn.execute("PRAGMA temp_store=MEMORY")
        if query_only:
            conn.execute("PRAGMA query_only=1")
    except BaseException:
        conn.close()
        raise
    return conn


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION and return the version found before."""
    found = user_version(conn)
    if found > SCHEMA_VERSION:
        raise StoreError(
            StoreErrorReason.SCHEMA_TOO_NEW,
            f"database schema version {found} is newer than this edge-agent supports "
            f"({SCHEMA_VERSION}); upgrade edge-agent or move the database aside",
        )
    db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
    for version in range(found, SCHEMA_VERSION):
        try:
            with db.atomic():
                MIGRATIONS[version](db)
                db.execute(f"PRAGMA user_version={version + 1}")
        except (sqlite3.Error, OSError) as exc:
            raise as_store_error(exc, f"migrating schema to version {version + 1}") from exc
    return found
