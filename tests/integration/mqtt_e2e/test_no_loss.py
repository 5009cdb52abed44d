"""Store-and-forward under abuse: a fast sensor, the daemon killed with -9 (while sending and
while buffering), the broker restarted, three times over. Whatever the store accepted reaches
HQ's persistent subscriber at least once, and a resend is always the same record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge_agent.uplink.codec import decode_batch
from tests.integration.mqtt_e2e.site import ROOT, database, sync_status, write_config
from tests.integration.uplink.hq import HQ
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

ROUNDS = 3
FIREHOSE = (
    "  - {id: firehose, driver: simulated_sensor, poll_interval_s: 0.05, readings_per_poll: 20}\n"
)
IDLE = "  - {id: screen, driver: simulated_display, poll_interval_s: 5}\n"


def records(hq: HQ) -> list[dict[str, Any]]:
    """Every event record in every batch HQ received, duplicates included."""
    out: list[dict[str, Any]] = []
    for m in hq.snapshot():
        if "/events/" in m.topic:
            out.extend(e.model_dump(mode="json") for e in decode_batch(m.payload).events)
    return out


def unsent(cfg: Path) -> int:
    with database(cfg) as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


def sending(hq: HQ, more: int = 200) -> None:
    """Wait until HQ has received `more` records beyond what it had."""
    start = len(hq.event_ids())
    wait_for(lambda: len(hq.event_ids()) >= start + more, timeout=20)


def test_kill9_and_broker_restarts_lose_no_accepted_reading_and_only_repeat_whole_records(
    broker: Mosquitto, tmp_path: Path
) -> None:
    # HQ's session outlives both its own reconnects and the broker's restarts (QoS 1, expiry 1 h).
    hq = HQ(broker.port, topic=f"{ROOT}/events/#", client_id="hq-durable", clean=False)
    cfg = write_config(tmp_path, broker.port, FIREHOSE)
    buffered_at_crash: list[int] = []
    daemon: Daemon | None = None
    try:
        for _ in range(ROUNDS):
            daemon = Daemon(cfg).start()
            sending(hq)
            daemon.kill9()  # crash mid-drain: some PUBACKs arrive, their mark_sent never does
            daemon = Daemon(cfg).start()
            sending(hq)
            broker.stop()  # the link goes: the daemon keeps accepting and buffers
            wait_for(lambda: unsent(cfg) >= 100, timeout=20)
            daemon.kill9()  # crash with a backlog
            buffered_at_crash.append(unsent(cfg))
            broker.start()
        cfg.write_text(cfg.read_text().replace(FIREHOSE, IDLE))  # the firehose goes quiet
        daemon = Daemon(cfg).start()
        wait_for(lambda: sync_status(daemon)["backlog"]["depth"] == 0, timeout=60)
        assert daemon.stop() == 0
        with database(cfg) as db:
            stored = {
                row[0]: row
                for row in db.execute("SELECT id, seq, kind, device, ts, data, sent_at FROM outbox")
            }
        wait_for(lambda: set(stored) <= set(hq.event_ids()), timeout=30)
        got = records(hq)
        # Every batch matches docs/schemas/event-batch.json, and every reading's and device state
        # event's `data` reading.json and event-state.json.
        assert hq.validate_all(records=True) > 0
    finally:
        if daemon is not None:
            daemon.stop()
        hq.close()

    assert min(buffered_at_crash) >= 100  # each round really crashed with unsent items
    assert all(row[6] is not None for row in stored.values())  # all marked sent in the end
    by_id: dict[str, dict[str, Any]] = {}
    for rec in got:
        assert by_id.setdefault(rec["id"], rec) == rec, f"id {rec['id']} came with other content"
    for id_, seq, kind, device, ts, data, _ in stored.values():
        rec = by_id[id_]
        assert (rec["seq"], rec["kind"], rec["device"], rec["ts"]) == (seq, kind, device, ts)
        assert rec["data"] == json.loads(data)
    readings = sum(1 for row in stored.values() if row[2] == "reading")
    assert readings > ROUNDS * 2 * 200
