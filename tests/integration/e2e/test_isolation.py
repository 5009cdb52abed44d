"""A projector that hangs and a screen that spews garbage do not slow the rest of the branch.

Real drivers against real emulators with their fault knobs on: the healthy meter and sensor keep
their poll schedule, the broken devices say why (`timeout`, `protocol_error`) and keep being
retried, and once the faults are cleared they come back online by themselves.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.integration.e2e.branch import reading_count, running_branch, write_config
from tests.support.daemon import Daemon, wait_for
from tests.support.net import free_port

POLL_S = 0.25
WINDOW_S = 3.0
#: The healthy devices should poll WINDOW_S / POLL_S = 12 times in the window. A stalled loop
#: gives about 0; allow a loaded two-core CI box to manage less than half of the schedule.
MIN_POLLS = 5
METER_POINTS = 9  # the sdm120 profile: one reading per point per poll


def _hang(emulator: Any) -> None:
    emulator.faults.silent = True


def _spew(emulator: Any) -> None:
    emulator.faults.garbage = True


def _samples(daemon: Daemon) -> int:
    return int(daemon.device("co2")["state"]["samples"])


def test_hung_and_garbled_devices_do_not_delay_healthy_polls_and_recover(tmp_path: Path) -> None:
    broken = "poll_interval_s: 0.5, timeout_s: 0.5, retries: 0"
    cfg = write_config(
        tmp_path,
        f"""\
  - {{id: co2, driver: simulated_sensor, poll_interval_s: {POLL_S}}}
  - {{id: main-meter, driver: modbus, host: 127.0.0.1, port: {free_port()},
     poll_interval_s: {POLL_S}, timeout_s: 1, units: [{{name: main, unit_id: 1, profile: sdm120}}]}}
  - {{id: hung-projector, driver: pjlink, host: 127.0.0.1, port: {free_port()}, {broken}}}
  - {{id: garbled-screen, driver: samsung_mdc, host: 127.0.0.1, port: {free_port()}, {broken}}}
""",
    )
    adjust = {"hung-projector": _hang, "garbled-screen": _spew}
    with running_branch(cfg, adjust) as (daemon, host):
        wait_for(
            lambda: (
                daemon.device("hung-projector")["restarts"] >= 1
                and daemon.device("garbled-screen")["restarts"] >= 1
            ),
            timeout=30,
        )
        hung, garbled = daemon.device("hung-projector"), daemon.device("garbled-screen")
        assert (hung["online"], hung["reason"]) == (False, "timeout"), hung
        assert (garbled["online"], garbled["reason"]) == (False, "protocol_error"), garbled
        wait_for(lambda: daemon.device("main-meter")["online"] and daemon.device("co2")["online"])

        samples, readings = _samples(daemon), reading_count(cfg, "main-meter")
        time.sleep(WINDOW_S)
        polled = _samples(daemon) - samples
        meter_polls = (reading_count(cfg, "main-meter") - readings) / METER_POINTS

        print(f"in {WINDOW_S} s: sensor {polled} polls, meter {meter_polls:.1f} polls")
        assert polled >= MIN_POLLS, f"sensor polled {polled} times in {WINDOW_S} s"
        assert meter_polls >= MIN_POLLS, f"meter polled {meter_polls} times in {WINDOW_S} s"
        for device_id in ("co2", "main-meter"):
            healthy = daemon.device(device_id)
            assert (healthy["online"], healthy["reason"], healthy["restarts"]) == (True, "ok", 0)
            assert time.time() - healthy["last_seen"] < 10 * POLL_S + 5  # generous: CLI start-up

        for device_id in ("hung-projector", "garbled-screen"):
            emulator = host.emulators[device_id]
            host.call(emulator.faults.clear)

        # Backoff after a few failures is at most 16 s (1 s doubling, full jitter); then one poll.
        def both_back() -> bool:
            return all(
                (d := daemon.device(i))["online"] and d["reason"] == "ok"
                for i in ("hung-projector", "garbled-screen")
            )

        wait_for(both_back, timeout=40, interval=0.5)
        assert daemon.device("hung-projector")["state"]["power"] == "off"
        assert daemon.device("garbled-screen")["state"]["power"] == "on"
