"""HQ sends commands of a few megabytes: each is refused as malformed, unread and unaudited, so
the audit trail cannot grow past the store's size cap and push accepted readings out of it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.mqtt_e2e.site import (
    ROOT,
    _auth,
    database,
    deny_agent,
    sync_status,
    write_config,
)
from tests.integration.uplink.hq import HQ
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

SENSOR = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.5, readings_per_poll: 10}\n"
SCREEN = "  - {id: screen, driver: simulated_display, poll_interval_s: 1}\n"
RESULT = f"{ROOT}/cmd/screen/result"


def pub_file(broker: Mosquitto, topic: str, body: bytes, tmp_path: Path) -> None:
    path = tmp_path / "command.json"
    path.write_bytes(body)
    subprocess.run(
        ["mosquitto_pub", *_auth(broker.port), "-q", "1", "-t", topic, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=20,
    )


def test_commands_of_megabytes_are_refused_and_drop_no_accepted_reading(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    deny_agent(broker, f"{ROOT}/events/reading")  # readings stay in the store, unsent
    cfg = write_config(tmp_path, broker.port, SENSOR + SCREEN)
    cfg.write_text(cfg.read_text() + "store: {max_size_mb: 2}\n")
    daemon = Daemon(cfg).start()
    try:
        wait_for(lambda: sync_status(daemon)["backlog"]["depth_by_class"]["reading"] > 50)
        for n in range(3):  # 3 MB in all: more than the whole store may hold
            command = {"id": f"hq-big-{n}", "action": "power", "args": {"state": "on"}}
            command["args"]["note"] = "x" * 1_000_000
            pub_file(broker, f"{ROOT}/cmd/screen", json.dumps(command).encode(), tmp_path)

        def answers() -> list[dict[str, Any]]:
            return [m.json() for m in hq.snapshot() if m.topic == RESULT]

        got = wait_for(lambda: len(answers()) >= 3 and answers(), timeout=20)
        after = sync_status(daemon)["backlog"]
    finally:
        daemon.stop()
    assert sum(after["dropped_by_class"].values()) == 0, after
    assert sorted(a["id"] for a in got) == ["hq-big-0", "hq-big-1", "hq-big-2"]  # HQ can match
    for answer in got:
        assert answer["ok"] is False and answer["error"]["code"] == "malformed"
        assert "too large" in answer["error"]["message"]
    with database(cfg) as db:
        assert db.execute("SELECT count(*) FROM commands").fetchone()[0] == 0
        unsent = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    assert unsent >= after["depth"] > 50  # every reading accepted is still waiting for HQ
