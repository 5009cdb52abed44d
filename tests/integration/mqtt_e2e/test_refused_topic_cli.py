"""The broker's ACL refuses one topic while the link is up: `edge-agent status` and `sync status`
name the topic and the broker's reason next to the growing backlog, not just "connected"."""

from __future__ import annotations

from pathlib import Path

from tests.integration.mqtt_e2e.site import ROOT, ctl, deny_agent, sync_status, write_config
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

SENSOR = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.5, readings_per_poll: 10}\n"
DENIED = f"{ROOT}/events/reading"


def test_status_and_sync_status_name_the_topic_the_broker_refuses(
    broker: Mosquitto, tmp_path: Path
) -> None:
    deny_agent(broker, DENIED)
    daemon = Daemon(write_config(tmp_path, broker.port, SENSOR)).start()
    try:
        wait_for(lambda: sync_status(daemon)["uplink"]["refused"])
        status = ctl(daemon, "status")
        sync = ctl(daemon, "sync", "status")
    finally:
        daemon.stop()
    assert status.returncode == 0 and sync.returncode == 0
    for out in (status.stdout, sync.stdout):
        flat = " ".join(out.split())  # the table and panel wrap long lines
        assert "broker refuses" in flat, out
        assert "events/reading" in flat and "Not authorized" in flat, out
