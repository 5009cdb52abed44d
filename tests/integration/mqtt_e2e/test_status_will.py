"""The daemon's retained `status`, as HQ's `mosquitto_sub` sees it: online on start, the Will
when the process dies, `stopping` then `offline` on a clean stop."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.mqtt_e2e.site import (
    KEEPALIVE_S,
    ROOT,
    Seen,
    Watch,
    retained,
    validate,
    write_config,
)
from tests.integration.uplink.hq import HQ
from tests.support.daemon import Daemon, cli, wait_for
from tests.support.mosquitto import Mosquitto

STATUS = f"{ROOT}/status"
SCREEN = "  - {id: screen, driver: simulated_display, poll_interval_s: 0.5}\n"


@pytest.fixture
def watch(broker: Mosquitto, tmp_path: Path) -> Iterator[Watch]:
    w = Watch(broker.port, STATUS, tmp_path / "status.sub")
    try:
        yield w
    finally:
        w.close()
        assert validate(w.seen()) == len(w.seen())  # every status line matches status.json


def states(seen: list[Seen]) -> list[str]:
    return [str(m.json()["state"]) for m in seen if m.payload]


def test_killed_daemon_is_reported_offline_by_its_will_within_the_keepalive_window(
    broker: Mosquitto, hq: HQ, watch: Watch, tmp_path: Path
) -> None:
    daemon = Daemon(write_config(tmp_path, broker.port, SCREEN)).start()
    try:
        online = wait_for(lambda: retained(broker.port, STATUS), timeout=15)
        agent = daemon.status()["agent"]
        assert online["state"] == "online" and online["session"] >= 1
        assert online["version"] == agent["version"]
        assert online["config_hash"] == agent["config_hash"]

        daemon.kill9()

        # The broker publishes the Will once it notices: at once on a reset connection, at
        # the latest after 1.5 x keepalive for a link that just went silent.
        seen = watch.wait_for(lambda s: states(s)[-1:] == ["offline"], timeout=1.5 * KEEPALIVE_S)
    finally:
        daemon.stop()
    assert "stopping" not in states(seen)  # nobody said goodbye: this is the Will
    will = retained(broker.port, STATUS)
    assert will["state"] == "offline" and will["session"] == online["session"]


def test_frozen_daemon_is_reported_offline_once_its_keepalive_lapses(
    broker: Mosquitto, hq: HQ, watch: Watch, tmp_path: Path
) -> None:
    daemon = Daemon(write_config(tmp_path, broker.port, SCREEN)).start()
    try:
        wait_for(lambda: retained(broker.port, STATUS), timeout=15)
        daemon.signal(signal.SIGSTOP)  # hung, or the cable pulled: the TCP link stays open
        try:
            seen = watch.wait_for(
                lambda s: states(s)[-1:] == ["offline"],
                timeout=2 * KEEPALIVE_S + 10,  # loaded CI box
            )
        finally:
            daemon.signal(signal.SIGCONT)
    finally:
        daemon.kill9()
    assert "stopping" not in states(seen)


def test_sigterm_says_stopping_then_offline_and_the_next_start_is_a_new_session(
    broker: Mosquitto, hq: HQ, watch: Watch, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, broker.port, SCREEN)
    daemon = Daemon(cfg).start()
    try:
        first = wait_for(lambda: retained(broker.port, STATUS), timeout=15)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=5) == 0  # the spec: exit 0 within 5 s
    finally:
        daemon.stop()
    seen = watch.wait_for(lambda s: states(s)[-1:] == ["offline"])
    assert states(seen)[-3:] == ["online", "stopping", "offline"]
    assert retained(broker.port, STATUS)["state"] == "offline"

    again = Daemon(cfg).start()
    try:
        watch.wait_for(lambda s: states(s)[-1:] == ["online"])
        second = retained(broker.port, STATUS)
    finally:
        again.stop()
    assert second["session"] == first["session"] + 1


def test_a_reload_republishes_status_with_the_config_that_now_runs(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, broker.port, SCREEN)
    daemon = Daemon(cfg).start()
    try:
        before = wait_for(lambda: retained(broker.port, STATUS), timeout=15)
        assert before["config_hash"] == daemon.status()["agent"]["config_hash"]
        cfg.write_text(cfg.read_text() + "  - {id: screen-2, driver: simulated_display}\n")
        assert cli("reload", "--config", str(cfg)).returncode == 0
        now = daemon.status()["agent"]["config_hash"]
        assert now != before["config_hash"]
        after = wait_for(
            lambda: (s := retained(broker.port, STATUS)) and s["config_hash"] == now and s,
            timeout=15,
        )
    finally:
        daemon.stop()
    assert after["state"] == "online" and after["session"] == before["session"]
