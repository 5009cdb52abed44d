"""No broker at all (a 5G outage, or `make demo`): the uplink buffers, says so sparingly, and is
back as soon as the broker is."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from edge_agent.uplink import outage
from tests.integration.mqtt_e2e.site import log_events, sync_status, write_config
from tests.integration.uplink.sysdeps import require_mosquitto
from tests.integration.uplink.wiring import events, make_settings, running_uplink, wait_until
from tests.support.daemon import Daemon, wait_for
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port

require_mosquitto()

LOUD = {"info", "warning", "error", "critical"}


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


def loud(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    """Lines of `event` that a default (info) log level would print."""
    return [e for e in logs if e["event"] == event and e["log_level"] in LOUD]


async def test_no_broker_logs_the_outage_once_while_retrying_every_second(
    tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    broker = Mosquitto(tmp_path / "broker", tls=False)  # its port stays closed until started
    try:
        async with running_uplink(make_settings(broker, tmp_path)) as run:
            await asyncio.sleep(4)
            status = run.uplink.status()
            assert status["connected"] is False and status["state"] == "buffering"
            assert status["reconnect_attempts"] >= 3  # still retrying often
            assert len(loud(logs, "uplink_disconnected")) == 1
            assert loud(logs, "uplink_reconnect_wait") == []
            assert loud(logs, "uplink_buffering") == []  # the first reminder is due after 60 s
            uplink_lines = [e for e in logs if str(e["event"]).startswith("uplink_")]
            assert len([e for e in uplink_lines if e["log_level"] in LOUD]) == 1

            await asyncio.to_thread(broker.start)
            await run.wait_connected(timeout=10)
            assert run.uplink.status()["session"] == 1  # refused attempts use up no numbers
        [back] = loud(logs, "uplink_connected")
        assert back["failed_attempts"] >= 3 and back["down_for_s"] >= 3
    finally:
        broker.close()


async def test_buffering_reminder_carries_the_backlog_depth_and_is_rationed(
    tmp_path: Path, logs: list[MutableMapping[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = 1.0
    monkeypatch.setattr(outage, "BUFFERING_LOG_INTERVAL_S", interval)
    broker = Mosquitto(tmp_path / "broker", tls=False)  # never started
    fast = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.2}  # ~10 attempts per reminder
    async with running_uplink(make_settings(broker, tmp_path, mqtt=fast)) as run:
        await run.branch.put(events(25))
        started = time.monotonic()
        await wait_until(lambda: loud(logs, "uplink_buffering"), timeout=15)
        await asyncio.sleep(2.5)
        elapsed = time.monotonic() - started
        attempts = run.uplink.status()["reconnect_attempts"]
        assert run.uplink.status()["state"] == "buffering"
    reminders = loud(logs, "uplink_buffering")
    assert all(r["backlog"] == 25 and r["reason"] == "unreachable" for r in reminders)
    assert len(reminders) <= elapsed / interval + 1  # rationed, however often it retried
    assert attempts > 2 * len(reminders)


async def test_broker_vanishing_mid_session_is_a_disconnect_warning_not_a_crash(
    tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    broker = Mosquitto(tmp_path / "broker", tls=False)
    broker.start()
    try:
        async with running_uplink(make_settings(broker, tmp_path)) as run:
            await run.wait_connected()
            await asyncio.to_thread(broker.stop)
            await wait_until(lambda: loud(logs, "uplink_disconnected"), timeout=15)
            [gone] = loud(logs, "uplink_disconnected")
            assert gone["log_level"] == "warning" and gone["reason"] == "disconnected"
            assert loud(logs, "uplink_session_crashed") == []
    finally:
        broker.close()


def test_daemon_without_a_broker_buffers_and_says_so_once(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here, as in `make demo`
    sensor = "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.2}\n"
    daemon = Daemon(write_config(tmp_path, port, sensor)).start()
    try:
        wait_for(lambda: sync_status(daemon)["uplink"]["reconnect_attempts"] >= 4, timeout=20)
        status = sync_status(daemon)
    finally:
        daemon.stop()
    assert status["uplink"]["state"] == "buffering" and status["backlog"]["depth"] > 0
    said = [
        e["event"]
        for e in log_events(daemon)
        if str(e.get("event", "")).startswith("uplink_") and e["level"] != "debug"
    ]
    # Once when the outage began; then the stop. No line per attempt.
    assert said == ["uplink_disconnected", "uplink_stopped"]
