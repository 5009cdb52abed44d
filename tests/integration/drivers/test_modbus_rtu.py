"""The Modbus driver on an RS-485 bus of socat ptys: shared-bus faults and independent peers."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.config import ModbusConfig
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk import Reason, Unreachable
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.modbus_support import rtu_config


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[tuple[ModbusEmulator, ModbusConfig]]:
    """An emulator built by `from_config`: it links the bus's pty where the config points."""
    cfg = rtu_config(str(tmp_path / "ttyRS485"))
    emu = from_config(cfg)
    await emu.start()
    yield emu, cfg
    await emu.stop()


def count(ctx: RecordingContext, name: str) -> int:
    return sum(1 for n, _v, _u in ctx.readings if n == name)


async def test_silent_unit_does_not_stall_the_others_on_the_bus(
    bus: tuple[ModbusEmulator, ModbusConfig],
) -> None:
    emu, cfg = bus
    clock = [1000.0]
    ctx = RecordingContext(clock=lambda: clock[0])
    drv = ModbusDriver(cfg, ctx)
    await drv.start()
    try:
        await drv.poll()
        emu.unit("air").faults.silent = True
        asked_before = emu.unit("air").requests
        for _ in range(6):
            clock[0] += 10
            state = await drv.poll()
        assert count(ctx, "main-meter.voltage") == 7
        assert count(ctx, "relays.relay_1") == 7
        assert count(ctx, "air.temperature") == 1
        # Two timeouts open the breaker; the other four polls skip the silent unit entirely.
        assert emu.unit("air").requests - asked_before == 2
        assert state["units"]["air"] == {
            "online": False,
            "reason": "timeout",
            "error": "unit 2 did not answer within 1 s",
            "unit_id": 2,
            "breaker": "open",
        }
        assert state["units_online"] == 2
        assert any(event == "modbus_unit_skipped" for _lvl, event, _kw in ctx.log.records)

        emu.unit("air").faults.clear()
        clock[0] += 300  # cool-down over: the unit is asked again and comes back
        state = await drv.poll()
        assert state["units"]["air"]["online"] is True
        assert state["units"]["air"]["breaker"] == "closed"
        assert count(ctx, "air.temperature") == 2
    finally:
        await drv.stop()


async def test_garbage_on_the_line_fails_one_unit_and_the_next_frames_still_parse(
    bus: tuple[ModbusEmulator, ModbusConfig],
) -> None:
    emu, cfg = bus
    ctx = RecordingContext()
    drv = ModbusDriver(cfg, ctx)
    await drv.start()
    try:
        emu.unit("air").faults.garbage = True
        state = await drv.poll()
        assert state["units"]["air"]["reason"] == Reason.PROTOCOL_ERROR.value
        assert state["units"]["relays"]["online"] is True  # read right after the garbled frame
        emu.unit("air").faults.clear()
        assert (await drv.poll())["units_online"] == 3
    finally:
        await drv.stop()


async def test_wrong_serial_port_reports_unreachable(tmp_path: Path) -> None:
    drv = ModbusDriver(rtu_config(str(tmp_path / "ttyUSB9")), RecordingContext())
    with pytest.raises(Unreachable, match="ttyUSB9"):
        await drv.start()
    await drv.stop()


async def test_pymodbus_serial_client_reads_the_emulated_bus(
    bus: tuple[ModbusEmulator, ModbusConfig],
) -> None:
    emu, cfg = bus
    emu.unit("main-meter").set_value("import_energy", 1234.5)
    emu.unit("air").set_value("co2", 845)
    client = AsyncModbusSerialClient(
        str(cfg.serial_port), framer=FramerType.RTU, baudrate=19200, timeout=1, retries=0
    )
    assert await client.connect()
    try:
        rr = await client.read_input_registers(0x0048, count=2, device_id=1)
        kwh = client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)
        rr = await client.read_holding_registers(0x0002, count=1, device_id=2)
        co2 = rr.registers[0]
        await client.write_coils(0, [True, False, True], device_id=3)
    finally:
        client.close()
    assert kwh == pytest.approx(1234.5)
    assert co2 == 845
    relays = emu.unit("relays")
    assert [relays.get_value(f"relay_{i}") for i in (1, 2, 3)] == [True, False, True]


async def test_driver_reads_a_plain_pymodbus_rtu_server(ptys: tuple[str, str]) -> None:
    device_side, host_side = ptys
    words = list(struct.unpack(">HH", struct.pack(">f", 49.98)))
    server = ModbusSerialServer(
        [
            SimDevice(
                4,
                simdata=(
                    [SimData(0, count=2, values=[True, False], datatype=DataType.BITS)],
                    [SimData(0, count=1, values=False, datatype=DataType.BITS)],
                    [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
                    [SimData(0x46, values=words, datatype=DataType.REGISTERS)],
                ),
            ),
        ],
        framer=FramerType.RTU,
        port=device_side,
        baudrate=19200,
    )
    await server.serve_forever(background=True)
    cfg = rtu_config(
        host_side,
        units=[
            {
                "name": "meter",
                "unit_id": 4,
                "points": [
                    {
                        "name": "frequency",
                        "address": 0x46,
                        "function": "input",
                        "type": "float32",
                        "unit": "Hz",
                    },
                    {"name": "door", "address": 0, "function": "coil", "type": "bool"},
                    {"name": "lamp", "address": 1, "function": "coil", "type": "bool"},
                ],
            }
        ],
    )
    ctx = RecordingContext()
    drv = ModbusDriver(cfg, ctx)
    try:
        await drv.start()
        await drv.poll()
    finally:
        await drv.stop()
        await server.shutdown()
    assert sorted(ctx.readings) == [
        ("meter.door", True, None),
        ("meter.frequency", 49.98, "Hz"),
        ("meter.lamp", False, None),
    ]
