"""`edge-agent sync status` / `sync now` through a broker outage: the backlog grows while the
daemon says it is disconnected and buffering (once, in its log), and drains on demand after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge_agent.uplink.codec import decode_batch
from tests.integration.mqtt_e2e.site import ctl, log_events, sync_status, write_config
from tests.integration.uplink.hq import HQ
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto

# 50 readings each second, but the backlog may drain only one ~1 KB message (a handful) a
# second: the backlog keeps growing unless someone runs `sync now`.
SENSOR = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 1, readings_per_poll: 50}\n"
SLOW_SYNC = "{live_window_s: 0, backlog_rate_msgs: 1, backlog_burst_s: 1, max_batch_bytes: 1024}"


def uplink_of(daemon: Daemon) -> dict[str, Any]:
    return dict(sync_status(daemon)["uplink"])


def depth(daemon: Daemon) -> int:
    return int(sync_status(daemon)["backlog"]["depth"])


def loud(daemon: Daemon, event: str) -> list[dict[str, Any]]:
    return [e for e in log_events(daemon) if e.get("event") == event and e["level"] != "debug"]


def test_outage_shows_a_growing_backlog_and_sync_now_drains_it_once_the_broker_is_back(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    daemon = Daemon(write_config(tmp_path, broker.port, SENSOR, sync=SLOW_SYNC)).start()
    try:
        wait_for(lambda: uplink_of(daemon)["connected"])
        assert uplink_of(daemon)["state"] == "connected"

        broker.stop()
        down = wait_for(lambda: (u := uplink_of(daemon))["state"] == "buffering" and u)
        assert down["connected"] is False and down["last_error"] == "unreachable"
        first = depth(daemon)
        wait_for(lambda: depth(daemon) > first + 50)  # still accepting: the backlog grows
        assert json.loads(ctl(daemon, "status", "--json").stdout)["uplink"]["state"] == "buffering"
        table = ctl(daemon, "sync", "status")
        assert table.returncode == 0 and "buffering" in table.stdout
        refused = ctl(daemon, "sync", "now", "--json")
        assert refused.returncode == 1 and "not connected" in refused.stdout + refused.stderr
        lines = [json.loads(line) for line in refused.stdout.splitlines()]  # JSON lines, all
        assert lines[-1]["ok"] is False and lines[-1]["error"]["code"] == "failed"
        # However many reconnect attempts that took, the log said so once.
        assert len(loud(daemon, "uplink_disconnected")) == 1
        assert loud(daemon, "uplink_reconnect_wait") == []

        broker.start()
        wait_for(lambda: uplink_of(daemon)["connected"])
        assert depth(daemon) > 0, "the rate-limited drain should still be behind"
        out = ctl(daemon, "sync", "now", "--json", timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        progress = [json.loads(line) for line in out.stdout.splitlines()]
    finally:
        daemon.stop()
    assert len(progress) >= 2 and progress[0]["remaining"] > 0
    assert progress[-1]["done"] is True and progress[-1]["remaining"] == 0
    assert progress[-1]["sent"] >= progress[0]["remaining"]
    drained = [m for m in hq.snapshot() if m.topic.endswith("/events/reading")]
    assert drained and all(decode_batch(m.payload).historical for m in drained)
