"""kill -9 at random moments: every item the store reported committed survives, seq has no gaps.

The child (this file run as a script) submits items at full speed and, from a commit listener,
writes one line per commit to stdout (a file): `COMMIT <first_seq> <last_seq> <id,id,...>`.
A line only exists once its transaction has committed, so each complete line is a promise the
database must keep after the process is killed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 5
REPO = Path(__file__).resolve().parents[2]


def _child(db: str) -> None:
    import asyncio

    from edge_agent.settings.store import StoreSettings
    from edge_agent.store import ItemClass, NewItem, Store, StoredItem

    def report(items: list[StoredItem] | tuple[StoredItem, ...]) -> None:
        ids = ",".join(i.id for i in items)
        line = f"COMMIT {items[0].seq} {items[-1].seq} {ids}\n".encode()
        os.write(1, line)

    async def main() -> None:
        store = Store(Path(db), StoreSettings(commit_interval_ms=1, commit_max_items=500))
        await store.open()
        store.add_commit_listener(report)  # type: ignore[arg-type]
        n = 0
        while True:  # until SIGKILL
            for _ in range(100):
                store.submit(NewItem(ItemClass(n % 3), "crash", "child", time.time(), {"n": n}))
                n += 1
            await asyncio.sleep(0)

    asyncio.run(main())


def _committed_lines(out: Path) -> dict[int, str]:
    """seq -> id for every complete COMMIT line (a torn last line is ignored)."""
    promised: dict[int, str] = {}
    text = out.read_bytes().decode(errors="replace")
    for line in text.split("\n")[:-1]:  # the part after the last newline may be torn
        if not line.startswith("COMMIT "):
            continue  # structlog lines share stdout
        _, first, last, ids = line.split(" ")
        id_list = ids.split(",")
        assert len(id_list) == int(last) - int(first) + 1
        for seq, id_ in zip(range(int(first), int(last) + 1), id_list, strict=True):
            promised[seq] = id_
    return promised


def _run_and_kill(db: Path, out: Path, rng: random.Random) -> dict[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, __file__, "child", str(db)],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120  # a cold interpreter on a loaded 2-core CI box
        while b"COMMIT " not in out.read_bytes():
            assert proc.poll() is None, "the child died on its own"
            assert time.monotonic() < deadline, "the child never committed"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.1, 0.8))  # let it run for a random while, mid-commit or not
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return _committed_lines(out)


def test_kill_9_never_loses_a_committed_item_and_seq_stays_gapless(tmp_path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    db = tmp_path / "edge-agent.db"
    promised: dict[int, str] = {}
    for round_ in range(ROUNDS):
        got = _run_and_kill(db, tmp_path / f"round-{round_}.out", rng)
        assert got, f"round {round_}: nothing committed before the kill"
        clash = {s for s in got if s in promised and promised[s] != got[s]}
        assert not clash, f"seq reused with another id after a crash: {sorted(clash)[:5]}"
        promised.update(got)

        conn = sqlite3.connect(db)
        try:
            rows = dict(conn.execute("SELECT seq, id FROM outbox").fetchall())
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        assert integrity == "ok"
        missing = {s for s, i in promised.items() if rows.get(s) != i}
        assert not missing, f"round {round_}: {len(missing)} committed items lost"
        assert sorted(rows) == list(range(1, len(rows) + 1)), "gap in seq"
        assert len(rows) >= max(promised)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    _child(sys.argv[2])
