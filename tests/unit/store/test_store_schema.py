"""Schema migrations: each step runs once, in order, and survives restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from edge_agent.store import schema
from tests.unit.store.store_helpers import StoreFactory


async def test_a_new_database_is_created_at_the_current_schema_version(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    await make_store()
    conn = sqlite3.connect(tmp_path / "edge-agent.db")
    try:
        assert schema.user_version(conn) == schema.SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert {"outbox", "device_state", "commands", "meta", "drops"} <= tables
    assert journal == "wal"


async def test_an_added_migration_runs_exactly_once_across_restarts(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store()
    await store.put([])
    await store.meta_set("before", "upgrade")
    await store.close()

    runs: list[int] = []

    def v_next(db: sqlite_utils.Database) -> None:
        runs.append(1)
        db.execute("ALTER TABLE meta ADD COLUMN note TEXT")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, v_next])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    upgraded = await make_store()
    assert await upgraded.meta_get("before") == "upgrade", "data survives the upgrade"
    await upgraded.close()
    await make_store()

    assert runs == [1]
    conn = sqlite3.connect(tmp_path / "edge-agent.db")
    try:
        assert schema.user_version(conn) == schema.SCHEMA_VERSION
        assert "note" in {r[1] for r in conn.execute("PRAGMA table_info(meta)")}
    finally:
        conn.close()


async def test_a_failing_migration_leaves_the_previous_version_intact(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge_agent.store import StoreError

    store = await make_store()
    await store.meta_set("kept", "yes")
    await store.close()

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(StoreError):
        await make_store()

    conn = sqlite3.connect(tmp_path / "edge-agent.db")
    try:
        assert schema.user_version(conn) == len(schema.MIGRATIONS) - 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables, "the failed step was rolled back as a whole"
        assert conn.execute("SELECT value FROM meta WHERE key='kept'").fetchone() == ("yes",)
    finally:
        conn.close()
