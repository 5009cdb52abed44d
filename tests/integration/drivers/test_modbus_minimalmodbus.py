"""minimalmodbus, an RTU master with its own framing and CRC (no pymodbus inside), drives our
Modbus emulator over a socat pty: proof that the emulated bus speaks Modbus RTU, not pymodbus.

minimalmodbus is synchronous: each exchange runs in a worker thread, bounded by its own 0.5 s
serial timeout and by `asyncio.wait_for`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import minimalmodbus
import pytest

from drivers.modbus.config import ModbusConfig
from drivers.modbus.emulator import ModbusEmulator, from_config
from tests.integration.drivers.modbus_support import rtu_config


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[tuple[ModbusEmulator, str]]:
    cfg: ModbusConfig = rtu_config(str(tmp_path / "ttyRS485"))
    emu = from_config(cfg)
    await emu.start()
    yield emu, str(cfg.serial_port)
    await emu.stop()


def _unit(port: str, unit_id: int) -> minimalmodbus.Instrument:
    unit = minimalmodbus.Instrument(port, unit_id, close_port_after_each_call=True)
    unit.serial.baudrate = 19200  # as rtu_config
    unit.serial.timeout = 0.5
    return unit


async def _on_bus(work: Callable[[], Any]) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(work), timeout=30)


async def test_minimalmodbus_reads_meter_sensor_and_relays(
    bus: tuple[ModbusEmulator, str],
) -> None:
    emu, port = bus
    emu.unit("main-meter").set_value("voltage", 231.5)
    emu.unit("air").set_value("temperature", -4.5)
    meter, air, relays = _unit(port, 1), _unit(port, 2), _unit(port, 3)

    def work() -> tuple[Any, ...]:
        voltage = meter.read_float(0x0000, functioncode=4)
        temperature = air.read_register(0x0000, 1, functioncode=3, signed=True)
        air.write_register(0x0100, 1500, functioncode=6)
        air.write_registers(0x0100, [1600, 5])
        relays.write_bit(2, 1, functioncode=5)
        relays.write_bits(4, [1, 0, 1])
        return voltage, temperature, relays.read_bits(0, 8, functioncode=1)

    voltage, temperature, coils = await _on_bus(work)
    assert voltage == pytest.approx(231.5)
    assert temperature == -4.5
    assert coils == [0, 0, 1, 0, 1, 0, 1, 0]
    assert emu.unit("air").get_value("co2_alarm_threshold") == 1600
    assert emu.unit("relays").get_value("relay_7") is True


async def test_minimalmodbus_gets_exceptions_and_silence_where_a_bus_gives_them(
    bus: tuple[ModbusEmulator, str],
) -> None:
    _emu, port = bus
    with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal data address"):
        await _on_bus(lambda: _unit(port, 2).read_register(0x0050))
    with pytest.raises(minimalmodbus.IllegalRequestError):
        await _on_bus(lambda: _unit(port, 1).write_register(0x0000, 1))  # read-only meter
    with pytest.raises(minimalmodbus.NoResponseError):
        await _on_bus(lambda: _unit(port, 9).read_register(0x0000))  # nobody at address 9


async def test_broadcast_write_to_address_0_reaches_the_units_on_the_bus(
    bus: tuple[ModbusEmulator, str],
) -> None:
    emu, port = bus
    everyone = _unit(port, 0)  # address 0: broadcast; minimalmodbus then waits for no answer
    await _on_bus(lambda: everyone.write_bit(1, 1, functioncode=5))
    async with asyncio.timeout(5):
        while emu.unit("relays").get_value("relay_2") is not True:
            await asyncio.sleep(0.02)
    assert await _on_bus(lambda: _unit(port, 3).read_bit(1, functioncode=1)) == 1
