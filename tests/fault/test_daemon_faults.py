"""Faults at daemon level: misbehaving drivers stay isolated; kill -9 loses nothing accepted."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from tests.support.daemon import Daemon, cli, wait_for
from tests.support.daemon import agent_config as config


def readings_of(db: Path, device: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM outbox WHERE device = ? AND kind = 'reading'", (device,)
            ).fetchone()[0]
        )


def test_raising_and_hanging_devices_do_not_stop_the_others(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        """\
  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.2}
  - {id: broken, driver: simulated_display, fault: raise, poll_interval_s: 0.2}
  - {id: stuck, driver: simulated_display, fault: hang, poll_interval_s: 0.2, timeout_s: 0.3, retries: 0}
  - {id: buggy, driver: simulated_display, fault: crash, poll_interval_s: 0.2}
""",
    )
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.device("stuck")["restarts"] >= 1, timeout=30)
        broken, stuck, buggy = d.device("broken"), d.device("stuck"), d.device("buggy")
        assert (broken["online"], broken["reason"]) == (False, "timeout") and broken[
            "restarts"
        ] >= 1
        assert (stuck["online"], stuck["reason"]) == (False, "hung")
        assert (buggy["online"], buggy["reason"]) == (False, "crashed") and "RuntimeError" in buggy[
            "detail"
        ]
        db = tmp_path / "data" / "edge-agent.db"
        before = readings_of(db, "co2")
        time.sleep(3.0)
        after = readings_of(db, "co2")
        # 3 s at one reading per 0.2 s is 15; a stalled loop would give ~0. Allow a slow CI box.
        assert after - before >= 7, (before, after)
        co2 = d.device("co2")
        assert co2["online"] and co2["reason"] == "ok" and co2["restarts"] == 0
    finally:
        assert d.stop() == 0


def test_kill_9_never_loses_an_accepted_item_and_seq_has_no_gaps(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        "  - {id: firehose, driver: simulated_sensor, poll_interval_s: 0, readings_per_poll: 200}\n",
    )
    db = tmp_path / "data" / "edge-agent.db"
    reported = 0
    for _round in range(3):
        d = Daemon(cfg).start()
        wait_for(lambda: d.status()["store"]["last_seq"] > reported + 1000, timeout=30)
        reported = d.status()["store"]["last_seq"]
        time.sleep(0.3)
        d.kill9()
        with sqlite3.connect(db) as conn:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
            ids = {r[0] for r in conn.execute("SELECT id FROM outbox")}
        assert seqs[-1] >= reported, "an item the store reported as accepted is gone"
        assert seqs == list(range(seqs[0], seqs[-1] + 1)), "gap in seq among accepted items"
        assert len(ids) == len(seqs)
    out = cli("events", "tail", "--json", "-n", "3", "--config", str(cfg))
    assert out.returncode == 4  # daemon is down: the CLI says so
    d = Daemon(cfg).start()
    try:
        assert d.status()["store"]["last_seq"] >= reported
        lines = [
            json.loads(x)
            for x in cli(
                "events", "tail", "--json", "-n", "5", "--config", str(cfg)
            ).stdout.splitlines()
        ]
        assert lines and all(x["device"] == "firehose" for x in lines if x["kind"] == "reading")
    finally:
        assert d.stop() == 0
