"""A device taken out of the config disappears from HQ's retained view, even across outages."""

from __future__ import annotations

import signal
from pathlib import Path

from edge_agent.store.clock import kernel_synced
from tests.integration.mqtt_e2e.site import ROOT, retained, write_config
from tests.support.daemon import Daemon, cli, wait_for
from tests.support.mosquitto import Mosquitto

A = "  - {id: screen-a, driver: simulated_display, poll_interval_s: 0.5}\n"
B = "  - {id: screen-b, driver: simulated_display, poll_interval_s: 0.5}\n"


def state_of(broker: Mosquitto, device: str) -> object:
    return retained(broker.port, f"{ROOT}/devices/{device}/state")


def test_removed_while_stopped_or_offline_is_cleared_once_the_link_is_back(
    broker: Mosquitto, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, broker.port, A + B)
    d = Daemon(cfg).start()
    wait_for(lambda: state_of(broker, "screen-a") and state_of(broker, "screen-b"), timeout=20)
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=5) == 0

    # 1. Removed while the daemon was stopped: cleared on the next start.
    cfg = write_config(tmp_path, broker.port, A)
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: state_of(broker, "screen-b") is None, timeout=20)
        assert state_of(broker, "screen-a") is not None
        health = retained(broker.port, f"{ROOT}/health")
        # every subsystem says its state outright, not only a reason code
        # (devices may still be coming up when it was published: state and reason agree either way)
        assert health["subsystems"]["store"] == {"state": "ok", "reason": "ok"}
        # the PC's clock as the kernel sees it (unsynchronised in a container without NTP)
        assert health["host"]["clock"] == {
            "synced": kernel_synced(),
            "steps": 0,
            "last_step_s": None,
            "last_step_at": None,
        }
        assert {
            k: (v["state"] == "ok") == (v["reason"] == "ok")
            for k, v in health["subsystems"].items()
        } == {
            "store": True,
            "devices": True,
            "cameras": True,
            "uplink": True,
        }

        # 2. Removed while the broker was down, and the daemon restarted before it came back.
        broker.stop()
        cfg.write_text(cfg.read_text().replace(A, B))
        out = cli("reload", "--json", "--config", str(cfg))
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        d.signal(signal.SIGTERM)
        assert d.wait(timeout=5) == 0
    d = Daemon(cfg).start()
    try:
        broker.start()  # persistence on: it still holds screen-a's retained state
        wait_for(lambda: state_of(broker, "screen-a") is None, timeout=30)
        wait_for(lambda: state_of(broker, "screen-b") is not None, timeout=20)
    finally:
        assert d.stop() == 0
