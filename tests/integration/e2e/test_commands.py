"""An engineer's commands travel CLI -> daemon -> real driver -> wire -> emulator, and come back.

One daemon runs a small branch (projector, signage screen, Modbus relay board with a meter, two
kiosks) against emulators on loopback. Every change is checked twice: in the emulator itself or
through an independent third-party client, and in what `devices show` reports back.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.e2e.branch import EmulatorHost, command, probe, running_branch, write_config
from tests.support.daemon import Daemon, cli, wait_for
from tests.support.net import free_port

PROJECTOR_PASSWORD = "e2e-Proj3ctor-pw"


@pytest.fixture(scope="module")
def branch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, EmulatorHost]]:
    tmp = tmp_path_factory.mktemp("branch")
    (tmp / "projector.pass").write_text(PROJECTOR_PASSWORD + "\n")
    fast = "poll_interval_s: 0.5, timeout_s: 2, retries: 1"
    cfg = write_config(
        tmp,
        f"""\
  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {free_port()},
     password_file: projector.pass, input_names: {{hdmi2: "32"}}, {fast}}}
  - {{id: lobby-screen, driver: samsung_mdc, host: 127.0.0.1, port: {free_port()},
     display_id: 1, {fast}}}
  - {{id: plant-bus, driver: modbus, host: 127.0.0.1, port: {free_port()},
     power_point: relays.relay_1, {fast},
     units: [{{name: relays, unit_id: 3, profile: relay8}},
             {{name: ups-meter, unit_id: 1, profile: sdm120}}]}}
  - {{id: kiosk-1, driver: kiosk, base_url: "http://127.0.0.1:{free_port()}",
     mac: "02:00:00:00:00:01", wol_broadcast: 127.0.0.1, wol_port: {free_port(socket.SOCK_DGRAM)}, {fast}}}
  - {{id: kiosk-2, driver: kiosk, base_url: "http://127.0.0.1:{free_port()}",
     mac: "02:00:00:00:00:02", wol_broadcast: 127.0.0.1, wol_port: {free_port(socket.SOCK_DGRAM)}, {fast}}}
""",
    )
    with running_branch(cfg) as (daemon, host):
        wait_for(lambda: all(d["online"] for d in daemon.status()["devices"]), timeout=30)
        yield daemon, host


def state_of(daemon: Daemon, device_id: str) -> dict[str, Any]:
    return dict(daemon.device(device_id)["state"])


def test_projector_power_on_warms_up_the_projector_and_devices_show_reports_on(
    branch: tuple[Daemon, EmulatorHost],
) -> None:
    from aiopjlink import PJLink
    from aiopjlink.projector import Power

    daemon, host = branch
    projector = host.emulators["lobby-projector"]
    assert state_of(daemon, "lobby-projector")["power"] == "off"

    reply = command(daemon, "lobby-projector", "power", "on")

    assert reply["ok"] and reply["result"]["power"] in ("warming", "on")
    assert host.call(lambda: projector.model.power) in ("warming", "on")
    wait_for(lambda: state_of(daemon, "lobby-projector")["power"] == "on", timeout=20)

    async def ask_independently() -> Power.State:
        async with PJLink(
            address="127.0.0.1", port=projector.port, password=PROJECTOR_PASSWORD, timeout=5
        ) as link:
            return await link.power.get()

    assert asyncio.run(ask_independently()) == Power.State.ON


def test_projector_input_switch_by_friendly_name(branch: tuple[Daemon, EmulatorHost]) -> None:
    daemon, host = branch
    projector = host.emulators["lobby-projector"]
    host.call(lambda: setattr(projector.model, "power", "on"))
    wait_for(lambda: state_of(daemon, "lobby-projector")["power"] == "on", timeout=20)

    reply = command(daemon, "lobby-projector", "input", "hdmi2")

    assert reply["ok"], reply
    assert host.call(lambda: projector.model.input) == "32"
    wait_for(lambda: state_of(daemon, "lobby-projector")["input"] == "hdmi2")


def test_screen_input_and_volume_reach_the_display(branch: tuple[Daemon, EmulatorHost]) -> None:
    from samsung_mdc import MDC

    daemon, host = branch
    screen = host.emulators["lobby-screen"]
    before = state_of(daemon, "lobby-screen")
    assert (before["input"], before["volume"]) == ("hdmi1", 25)

    assert command(daemon, "lobby-screen", "input", "hdmi2")["result"]["input"] == "hdmi2"
    assert command(daemon, "lobby-screen", "volume", "30")["result"]["volume"] == 30

    assert host.call(lambda: (screen.state.input, screen.state.volume)) == ("hdmi2", 30)
    wait_for(
        lambda: (s := state_of(daemon, "lobby-screen"))["input"] == "hdmi2" and s["volume"] == 30
    )

    async def ask_independently() -> tuple[str, int]:
        async with MDC(f"127.0.0.1:{screen.port}", timeout=5) as mdc:
            _power, volume, _mute, source, *_ = await mdc.status(1)
            return str(source.name), int(volume)

    assert asyncio.run(ask_independently()) == ("HDMI2", 30)


def test_screen_rejects_an_unknown_input_without_changing_anything(
    branch: tuple[Daemon, EmulatorHost],
) -> None:
    daemon, host = branch
    screen = host.emulators["lobby-screen"]
    was = host.call(lambda: screen.state.input)

    reply = command(daemon, "lobby-screen", "input", "vga9")

    assert not reply["ok"] and reply["error"]["code"] == "invalid_argument"
    assert "vga9" in reply["error"]["message"]
    assert host.call(lambda: screen.state.input) == was
    assert daemon.device("lobby-screen")["online"]


def test_relay_write_and_power_switch_the_coil(branch: tuple[Daemon, EmulatorHost]) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    daemon, host = branch
    bus = host.emulators["plant-bus"]
    relays = bus.unit("relays")
    assert host.call(lambda: relays.get_value("relay_1")) is False

    written = command(daemon, "plant-bus", "write", "relays.relay_1", "true")

    assert written["result"] == {"point": "relays.relay_1", "value": True, "unit": None}
    assert host.call(lambda: relays.get_value("relay_1")) is True
    wait_for(lambda: state_of(daemon, "plant-bus").get("power") == "on")

    assert command(daemon, "plant-bus", "power", "off")["result"] == {"power": "off"}
    assert host.call(lambda: relays.get_value("relay_1")) is False
    wait_for(lambda: state_of(daemon, "plant-bus").get("power") == "off")

    async def coil_independently() -> bool:
        client = AsyncModbusTcpClient("127.0.0.1", port=bus.port, timeout=5)
        await client.connect()
        try:
            reply = await client.read_coils(0, count=1, device_id=3)
            return bool(reply.bits[0])
        finally:
            client.close()

    assert asyncio.run(coil_independently()) is False
    assert command(daemon, "plant-bus", "power", "on")["result"] == {"power": "on"}
    assert asyncio.run(coil_independently()) is True


def test_meter_readings_show_in_events_tail_with_their_units(
    branch: tuple[Daemon, EmulatorHost],
) -> None:
    daemon, _host = branch
    units = state_of(daemon, "plant-bus")["units"]
    assert units["ups-meter"]["online"] and units["relays"]["online"]

    def voltages() -> list[dict[str, Any]]:
        out = cli(
            "events", "tail", "--json", "-n", "300", "--device", "plant-bus",
            "--kind", "reading", "--socket", daemon.socket,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        items = [json.loads(line) for line in out.stdout.splitlines()]
        return [i["data"] for i in items if i["data"]["name"] == "ups-meter.voltage"]

    seen = wait_for(voltages)
    assert all(r["unit"] == "V" and 220 < r["value"] < 240 for r in seen), seen


def test_kiosk_power_on_sends_wake_on_lan_for_its_mac(branch: tuple[Daemon, EmulatorHost]) -> None:
    daemon, host = branch
    kiosk = host.emulators["kiosk-1"]

    reply = command(daemon, "kiosk-1", "power", "on")

    assert reply["result"] == {"power": "waking", "mac": "02:00:00:00:00:01"}
    assert wait_for(lambda: host.call(lambda: list(kiosk.wol_received))) == ["02:00:00:00:00:01"]
    assert host.call(lambda: kiosk.bad_wol_packets) == 0


def test_kiosk_that_was_powered_off_wakes_again_on_power_on(
    branch: tuple[Daemon, EmulatorHost],
) -> None:
    daemon, host = branch
    kiosk = host.emulators["kiosk-2"]

    off = command(daemon, "kiosk-2", "power", "off")
    assert off["ok"], off
    wait_for(lambda: host.call(lambda: kiosk.state["power"]) == "off")
    wait_for(lambda: not daemon.device("kiosk-2")["online"], timeout=20)
    assert daemon.device("kiosk-2")["reason"] == "unreachable"

    # The whole point of Wake-on-LAN: a kiosk that is off has no API, yet `power on` must work.
    on = command(daemon, "kiosk-2", "power", "on")

    assert on["ok"], on
    wait_for(lambda: host.call(lambda: kiosk.state["power"]) == "on")
    wait_for(lambda: daemon.device("kiosk-2")["online"], timeout=30)


def test_probe_prints_projector_model_serial_and_class(
    branch: tuple[Daemon, EmulatorHost],
) -> None:
    daemon, host = branch
    model = host.emulators["lobby-projector"].model

    info = probe(daemon, "lobby-projector")
    text = probe(daemon, "lobby-projector", as_json=False)

    assert (info["model"], info["serial"], info["pjlink_class"]) == (model.model, model.serial, 2)
    assert info["manufacturer"] == model.manufacturer and info["auth_required"] is True
    assert {i["code"] for i in info["inputs"]} >= {"31", "32"}
    for shown in (model.model, model.serial, "pjlink_class"):
        assert shown in text


def test_probe_prints_screen_model_serial_and_class(branch: tuple[Daemon, EmulatorHost]) -> None:
    daemon, host = branch
    display = host.emulators["lobby-screen"].state

    info = probe(daemon, "lobby-screen")
    text = probe(daemon, "lobby-screen", as_json=False)

    assert (info["model"], info["serial"], info["class"]) == (
        display.model_name,
        display.serial_number,
        "signage_display",
    )
    assert info["firmware"] == display.software_version and info["display_id"] == 1
    for shown in (display.model_name, display.serial_number, "signage_display"):
        assert shown in text


def test_probe_of_an_unknown_device_says_so(branch: tuple[Daemon, EmulatorHost]) -> None:
    daemon, _host = branch
    out = cli("devices", "probe", "no-such-screen", "--socket", daemon.socket)
    assert out.returncode == 5
    assert "no device 'no-such-screen'" in out.stderr and "Traceback" not in out.stderr
