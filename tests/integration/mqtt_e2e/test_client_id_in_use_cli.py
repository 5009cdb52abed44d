"""Two real daemons from one disk image (same branch_id/agent_id, so one client id) against a
real mosquitto: each says in its log, `edge-agent status` and `sync status` that another client
may be using its client id, and which config keys make it; before, both said only
"Disconnected during message iteration", a line per reconnect, forever."""

from __future__ import annotations

from pathlib import Path

from tests.integration.mqtt_e2e.site import ctl, log_events, sync_status, write_config
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

SENSOR = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.5}\n"


def test_status_names_the_client_id_two_cloned_gateways_fight_over(
    broker: Mosquitto, tmp_path: Path
) -> None:
    configs = []
    for name in ("gateway-a", "gateway-b"):
        (tmp_path / name).mkdir()
        configs.append(write_config(tmp_path / name, broker.port, SENSOR))
    daemons = [Daemon(cfg).start() for cfg in configs]
    try:
        for d in daemons:
            wait_for(lambda d=d: sync_status(d)["uplink"]["client_id_in_use"], timeout=20)
        status = ctl(daemons[0], "status")
        sync = ctl(daemons[1], "sync", "status")
    finally:
        for d in daemons:
            d.stop()
    assert status.returncode == 0 and sync.returncode == 0
    for out in (status.stdout, sync.stdout):
        flat = " ".join(out.split())  # the table and panel wrap long lines
        assert "client id in use?" in flat, out
        assert "edge-agent-wf-001-ipc-1" in flat, out
        assert "agent.branch_id" in flat and "agent.agent_id" in flat, out
    for d in daemons:
        [warning] = [e for e in log_events(d) if e.get("event") == "uplink_client_id_in_use"]
        assert warning["client_id"] == "edge-agent-wf-001-ipc-1"
