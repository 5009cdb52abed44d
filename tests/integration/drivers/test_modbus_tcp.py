"""The Modbus driver over real TCP sockets: our emulator, a plain pymodbus server, and faults."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator
from drivers.sdk import Command, InvalidArgument
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.modbus_support import tcp_config


@pytest.fixture
async def driver(
    modbus_emulator: ModbusEmulator,
) -> AsyncIterator[tuple[ModbusDriver, RecordingContext]]:
    ctx = RecordingContext()
    drv = ModbusDriver(tcp_config(modbus_emulator.port), ctx)
    await drv.start()
    yield drv, ctx
    await drv.stop()


def readings_of(ctx: RecordingContext, name: str) -> list[Any]:
    return [value for n, value, _unit in ctx.readings if n == name]


async def test_poll_emits_every_point_with_its_unit(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, ctx = driver
    modbus_emulator.unit("main-meter").set_value("voltage", 231.5)
    modbus_emulator.unit("air").set_value("temperature", 22.3)
    state = await drv.poll()
    assert state["units_online"] == 3
    assert state["power"] == "off"
    by_name = {n: (v, u) for n, v, u in ctx.readings}
    assert by_name["main-meter.voltage"] == (231.5, "V")
    assert by_name["air.temperature"] == (22.3, "degC")
    assert by_name["relays.relay_1"] == (False, None)
    assert len(by_name) == 9 + 5 + 16


async def test_meter_values_drift_like_a_live_meter(
    driver: tuple[ModbusDriver, RecordingContext],
) -> None:
    drv, ctx = driver
    await drv.poll()
    volts = readings_of(ctx, "main-meter.voltage")[0]
    assert 225 < volts < 235
    assert volts != 230.0


async def test_power_on_closes_the_configured_relay(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    assert await drv.execute(Command(action="power", args={"state": "on"})) == {"power": "on"}
    assert modbus_emulator.unit("relays").get_value("relay_1") is True
    assert (await drv.poll())["power"] == "on"


async def test_write_sets_a_holding_register_and_reads_it_back(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    result = await drv.execute(
        Command(action="write", args={"point": "air.co2_alarm_threshold", "value": "1500"})
    )
    assert result == {"point": "air.co2_alarm_threshold", "value": 1500, "unit": "ppm"}
    assert modbus_emulator.unit("air").get_value("co2_alarm_threshold") == 1500


async def test_write_outside_the_points_range_is_refused_before_the_wire(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    before = modbus_emulator.unit("air").requests
    with pytest.raises(InvalidArgument, match="above the maximum"):
        await drv.execute(
            Command(action="write", args={"point": "co2_alarm_threshold", "value": 99999})
        )
    with pytest.raises(InvalidArgument, match="read-only"):
        await drv.execute(Command(action="write", args={"point": "main-meter.voltage", "value": 1}))
    assert modbus_emulator.unit("air").requests == before


async def test_read_command_returns_one_live_point(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    modbus_emulator.unit("main-meter").set_value("frequency", 49.9)
    result = await drv.execute(Command(action="read", args={"point": "frequency"}))
    assert result == {"point": "main-meter.frequency", "value": 49.9, "unit": "Hz"}


async def test_probe_names_each_units_profile(
    driver: tuple[ModbusDriver, RecordingContext],
) -> None:
    drv, _ctx = driver
    info = await drv.probe()
    assert [(u["name"], u["model"], u["answers"]) for u in info["units"]] == [
        ("main-meter", "Eastron SDM120-Modbus", True),
        ("air", "generic temperature/humidity/CO2 transmitter", True),
        ("relays", "generic 8-channel relay module", True),
    ]


# --- independent peers -------------------------------------------------------------------------


async def test_pymodbus_client_reads_the_emulated_sdm_meter(
    modbus_emulator: ModbusEmulator,
) -> None:
    modbus_emulator.unit("main-meter").set_value("voltage", 229.8)
    modbus_emulator.unit("air").set_value("temperature", -4.5)
    client = AsyncModbusTcpClient("127.0.0.1", port=modbus_emulator.port, timeout=2, retries=0)
    assert await client.connect()
    try:
        rr = await client.read_input_registers(0x0000, count=2, device_id=1)
        volts = client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)
        rr = await client.read_holding_registers(0x0000, count=1, device_id=2)
        tenths = client.convert_from_registers(rr.registers, client.DATATYPE.INT16)
        await client.write_coil(2, True, device_id=3)
        bad = await client.read_input_registers(0x0002, count=2, device_id=1)
    finally:
        client.close()
    assert volts == pytest.approx(229.8, abs=1e-4)
    assert tenths == -45
    assert modbus_emulator.unit("relays").get_value("relay_3") is True
    assert bad.isError()
    assert bad.exception_code == 2  # unmapped address, as a real meter answers


@pytest.fixture
async def plain_pymodbus_server(loopback_port: int) -> AsyncIterator[int]:
    """A pymodbus server built directly from its own simulator classes (none of our code)."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", 231.25))
    device = SimDevice(
        7,
        simdata=(
            [SimData(0, count=8, values=False, datatype=DataType.BITS)],
            [SimData(0, count=8, values=False, datatype=DataType.BITS)],
            [SimData(0, values=[215, 450, 612], datatype=DataType.REGISTERS)],
            [SimData(0, values=[hi, lo], datatype=DataType.REGISTERS)],
        ),
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", loopback_port))
    await server.serve_forever(background=True)
    yield loopback_port
    await server.shutdown()


async def test_driver_reads_a_plain_pymodbus_server(plain_pymodbus_server: int) -> None:
    points = [
        {"name": "voltage", "address": 0, "function": "input", "type": "float32", "unit": "V"},
        {"name": "temperature", "address": 0, "function": "holding", "type": "int16", "scale": 0.1},
        {"name": "co2", "address": 2, "function": "holding", "type": "uint16", "unit": "ppm"},
    ]
    cfg = tcp_config(
        plain_pymodbus_server,
        power_point=None,
        units=[{"name": "meter", "unit_id": 7, "points": points}],
    )
    ctx = RecordingContext()
    drv = ModbusDriver(cfg, ctx)
    await drv.start()
    try:
        state = await drv.poll()
    finally:
        await drv.stop()
    assert state["units"]["meter"]["online"] is True
    assert sorted(ctx.readings) == [
        ("meter.co2", 612, "ppm"),
        ("meter.temperature", 21.5, None),
        ("meter.voltage", 231.25, "V"),
    ]
