"""A device that drops off the network is reported `unreachable` and comes back on its own.

The emulators are stopped outright (the projector and the meter are unplugged), then started
again on the same ports, as after a power cut in the comms cupboard.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.e2e.branch import device_config, running_branch, write_config
from tests.support.daemon import wait_for
from tests.support.net import free_port

UNPLUGGED = ("lobby-projector", "main-meter")


def test_unplugged_devices_go_unreachable_and_come_back_ok(tmp_path: Path) -> None:
    fast = "poll_interval_s: 0.3, timeout_s: 0.5, retries: 0"
    cfg = write_config(
        tmp_path,
        f"""\
  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {free_port()}, {fast}}}
  - {{id: main-meter, driver: modbus, host: 127.0.0.1, port: {free_port()}, {fast},
     units: [{{name: main, unit_id: 1, profile: sdm120}}]}}
  - {{id: co2, driver: simulated_sensor, poll_interval_s: 0.3}}
""",
    )
    with running_branch(cfg) as (daemon, host):
        wait_for(lambda: all(d["online"] for d in daemon.status()["devices"]), timeout=30)

        for device_id in UNPLUGGED:
            host.stop(device_id)

        def offline() -> dict[str, str]:
            shown = {
                i: daemon.device(i) for i in UNPLUGGED
            }  # one read each: online and reason agree
            if any(d["online"] for d in shown.values()):
                return {}
            return {i: d["reason"] for i, d in shown.items()}

        assert wait_for(offline, timeout=20) == dict.fromkeys(UNPLUGGED, "unreachable")
        down = {i: daemon.device(i) for i in UNPLUGGED}
        assert all(d["restarts"] >= 1 and d["detail"] for d in down.values()), down
        assert daemon.device("co2")["online"]

        for device_id in UNPLUGGED:
            host.start(device_config(cfg, device_id))

        # Retries back off (1 s doubling, full jitter); a few failures cost at most ~16 s.
        def back() -> bool:
            return all((d := daemon.device(i))["online"] and d["reason"] == "ok" for i in UNPLUGGED)

        wait_for(back, timeout=40, interval=0.5)
        meter = daemon.device("main-meter")
        assert meter["state"]["units"]["main"]["online"]
        assert meter["last_seen"] > down["main-meter"]["last_seen"]
