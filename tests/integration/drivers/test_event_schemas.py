"""What the real drivers emit against their emulators matches the committed JSON Schemas.

Each driver runs under the daemon's own device runner (so readings and `state` events are built
by the runtime, as in production). The projector, screen and beacons are made to fail and
recover (the projector is then unplugged, for an offline `state`); the meter and the sensor
give their readings. Every item's `data` is validated against docs/schemas/
(`event-{kind}.json`, `reading.json`): the contract HQ parses, not the models that generated it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from drivers.ble.driver import BeaconDriver
from drivers.ble.emulator import BluezMockEmulator
from drivers.events import BUILTIN_EVENTS
from drivers.mdc import MDCConfig, MDCDriver
from drivers.mdc.emulator import MDCEmulator
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator
from drivers.pjlink.config import PJLinkConfig
from drivers.pjlink.driver import PJLinkDriver
from drivers.pjlink.emulator import PJLinkEmulator
from drivers.pjlink.projector import ProjectorModel
from drivers.simulated.sensor import SimulatedSensor, SimulatedSensorConfig
from edge_agent.store.items import ItemClass, NewItem
from edge_agent.uplink.schemas import SCHEMA_DIR
from tests.integration.drivers.ble_support import BADGE, until
from tests.integration.drivers.ble_support import config as ble_config
from tests.integration.drivers.modbus_support import tcp_config
from tests.support.runners import running_device

FAST = {"poll_interval_s": 0.1, "timeout_s": 1.0, "retries": 0}


@cache
def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())  # type: ignore[no-any-return]


def schema_file(item: NewItem) -> str:
    """The committed schema of an item's `data`."""
    if item.cls is ItemClass.READING:
        return "reading.json"
    return f"event-{item.kind.replace('_', '-')}.json"


def assert_valid(items: list[NewItem]) -> None:
    """Every item's `data` validates against its committed schema (which must exist)."""
    for item in items:
        name = schema_file(item)
        assert (SCHEMA_DIR / name).exists(), f"{item.kind}: no {name} in docs/schemas/"
        jsonschema.Draft202012Validator(_schema(name)).validate(item.data)


def events(items: list[NewItem], kind: str) -> list[dict[str, Any]]:
    return [i.data for i in items if i.cls is ItemClass.EVENT and i.kind == kind]


def readings(items: list[NewItem]) -> dict[str, dict[str, Any]]:
    return {i.data["name"]: i.data for i in items if i.cls is ItemClass.READING}


#: The built-in event kinds the tests below make a real driver emit.
DRIVEN = {"projector_fault", "display_fault", "display_fault_cleared", "presence"}


async def test_projector_lamp_failure_and_recovery_match_the_schemas(loopback_port: int) -> None:
    emu = PJLinkEmulator(port=loopback_port, udp_port=0, model=ProjectorModel(power="on"))
    await emu.start()
    config = PJLinkConfig.model_validate(
        {"id": "lobby-projector", "driver": "pjlink", "host": "127.0.0.1", "port": emu.port} | FAST
    )
    items: list[NewItem] = []
    try:
        async with running_device(config, PJLinkDriver, submit=items.append):
            emu.model.set_errors(lamp="error", filter="warning")
            await until(lambda: len(events(items, "projector_fault")) >= 2)
            emu.model.set_errors(lamp="ok", filter="ok")
            await until(lambda: len(events(items, "projector_fault")) >= 4)
            await emu.stop()  # unplugged: the runtime's `state` event says offline, and why
            await until(lambda: any(not e["online"] for e in events(items, "state")))
    finally:
        await emu.stop()
    assert_valid(items)
    offline = [e for e in events(items, "state") if not e["online"]]
    assert offline[0]["reason"] in {"unreachable", "timeout"} and offline[0]["detail"]
    assert {"category": "lamp", "level": "error", "previous": "ok"} in events(
        items, "projector_fault"
    )
    assert {"category": "lamp", "level": "ok", "previous": "error"} in events(
        items, "projector_fault"
    )
    assert readings(items)["lamp_hours"]["unit"] == "h"
    assert any(e["online"] for e in events(items, "state"))


async def test_display_faults_and_temperature_match_the_schemas() -> None:
    emu = MDCEmulator(display_id=1)
    await emu.start()
    config = MDCConfig.model_validate(
        {
            "id": "lobby-screen",
            "driver": "samsung_mdc",
            "host": "127.0.0.1",
            "port": emu.port,
            "display_id": 1,
        }
        | FAST
    )
    items: list[NewItem] = []
    try:
        async with running_device(config, MDCDriver, submit=items.append):
            emu.state.faults = {"lamp", "no_sync"}
            await until(lambda: len(events(items, "display_fault")) >= 2)
            emu.state.faults = set()
            await until(lambda: len(events(items, "display_fault_cleared")) >= 2)
    finally:
        await emu.stop()
    assert_valid(items)
    assert events(items, "display_fault") == [{"fault": "lamp"}, {"fault": "no_sync"}]
    assert readings(items)["temperature"]["unit"] == "degC"


async def test_beacons_entering_and_leaving_match_the_schemas(bluez: BluezMockEmulator) -> None:
    config = ble_config(leave_after_s=1.0, **FAST | {"timeout_s": 5.0})
    items: list[NewItem] = []
    async with running_device(config, BeaconDriver, submit=items.append):
        await until(
            lambda: len(events(items, "presence")) >= 2 and "asset-tag-1.battery" in readings(items)
        )
        bluez.beacon(BADGE).rssi = -110  # walks away: leaves on weak signal
        await until(lambda: len(events(items, "presence")) >= 3)
        bluez.faults.silent = True  # the tag goes quiet: leaves by silence, rssi null
        await until(lambda: len(events(items, "presence")) >= 4)
    assert_valid(items)
    presence = {(e["beacon"], e["state"]): e for e in events(items, "presence")}
    assert presence.keys() == {
        ("staff-badge-7", "enter"),
        ("asset-tag-1", "enter"),
        ("staff-badge-7", "leave"),
        ("asset-tag-1", "leave"),
    }
    assert isinstance(presence["staff-badge-7", "leave"]["rssi"], float)
    assert presence["asset-tag-1", "leave"]["rssi"] is None
    battery = readings(items)["asset-tag-1.battery"]
    assert battery == {"name": "asset-tag-1.battery", "value": 2950, "unit": "mV"}


async def test_modbus_meter_and_relay_readings_match_the_schema(
    modbus_emulator: ModbusEmulator,
) -> None:
    config = tcp_config(modbus_emulator.port).model_copy(update=FAST)
    items: list[NewItem] = []
    async with running_device(config, ModbusDriver, submit=items.append):
        await until(lambda: "relays.relay_1" in readings(items))
    assert_valid(items)
    by_name = readings(items)
    assert by_name["relays.relay_1"] == {"name": "relays.relay_1", "value": False}  # no unit key
    assert isinstance(by_name["main-meter.voltage"]["value"], float)
    assert by_name["main-meter.voltage"]["unit"] == "V"


async def test_simulated_sensor_readings_match_the_schema() -> None:
    config = SimulatedSensorConfig.model_validate(
        {"id": "lobby-co2", "driver": "simulated_sensor"} | FAST
    )
    items: list[NewItem] = []
    async with running_device(config, SimulatedSensor, submit=items.append):
        await until(lambda: bool(readings(items)))
    assert_valid(items)
    assert readings(items)["co2"]["unit"] == "ppm"


def test_every_built_in_event_kind_is_driven_here() -> None:
    # A new event model in drivers/events.py needs its driver made to emit it in this file.
    assert {m.KIND for m in BUILTIN_EVENTS} == DRIVEN
