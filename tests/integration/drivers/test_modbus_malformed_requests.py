"""Malformed requests to the Modbus emulator get what the spec (v1.1b3, 6.1-6.12) prescribes:
exception 03, ILLEGAL DATA VALUE, under the request's own function code, and nothing written.

The frames are raw bytes, written here from the spec, sent over a real TCP socket (MBAP) and
over a socat pty with pyserial (RTU, with the CRC computed below), so neither our client nor
pymodbus' has a say in what goes on the wire.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import serial

from drivers.modbus.emulator import ModbusEmulator, from_config
from tests.integration.drivers.modbus_support import rtu_config

METER, AIR, RELAYS = 1, 2, 3  # unit ids in modbus_support.UNITS

#: (unit, PDU) of requests the spec refuses with exception 03. The writes aim at writable points,
#: so one that got through would change what `snapshot` sees.
MALFORMED = {
    "read coils, quantity 0": (RELAYS, bytes([1, 0, 0, 0, 0])),
    "read coils, quantity 2001": (RELAYS, bytes([1, 0, 0, 0x07, 0xD1])),
    "read discrete inputs, quantity 0": (RELAYS, bytes([2, 0, 0, 0, 0])),
    "read holding registers, quantity 0": (AIR, bytes([3, 0, 0, 0, 0])),
    "read holding registers, quantity 126": (AIR, bytes([3, 0, 0, 0, 126])),
    "read input registers, quantity 0": (METER, bytes([4, 0, 0, 0, 0])),
    "read input registers, quantity 126": (METER, bytes([4, 0, 0, 0, 126])),
    "write single coil, value 0x1234": (RELAYS, bytes([5, 0, 2, 0x12, 0x34])),
    "write single coil, value 0x00FF": (RELAYS, bytes([5, 0, 2, 0x00, 0xFF])),
    "write coils, quantity 0": (RELAYS, bytes([15, 0, 0, 0, 0, 0])),
    "write coils, byte count 1 for 9 coils": (RELAYS, bytes([15, 0, 0, 0, 9, 1, 0xFF])),
    "write coils, quantity 1969": (RELAYS, bytes([15, 0, 0, 0x07, 0xB1, 247]) + b"\xff" * 247),
    "write registers, quantity 0": (AIR, bytes([16, 1, 0, 0, 0, 0])),
    "write registers, byte count 3 for 1": (AIR, bytes([16, 1, 0, 0, 1, 3, 0x05, 0xDC, 0])),
}


def crc16(frame: bytes) -> bytes:
    """The Modbus RTU CRC (spec: Modbus over serial line, 6.2.2), low byte first."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


def rtu(unit: int, pdu: bytes) -> bytes:
    return bytes([unit]) + pdu + crc16(bytes([unit]) + pdu)


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def snapshot(emu: ModbusEmulator) -> dict[str, object]:
    """Every writable point on the bus."""
    relays, air = emu.unit(RELAYS), emu.unit(AIR)
    coils = {f"relay_{i}": relays.get_value(f"relay_{i}") for i in range(1, 9)}
    settings = {p: air.get_value(p) for p in ("co2_alarm_threshold", "temperature_offset")}
    return coils | settings


async def tcp_exchange(port: int, frame: bytes, answer_len: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        return await asyncio.wait_for(reader.readexactly(answer_len), timeout=2)
    finally:
        writer.close()


async def rtu_exchange(port: str, frame: bytes, answer_len: int) -> bytes:
    """What comes back within 0.5 s (pyserial's timeout), at most `answer_len` bytes."""

    def work() -> bytes:
        with serial.Serial(port, baudrate=19200, timeout=0.5) as line:  # as rtu_config
            line.write(frame)
            return bytes(line.read(answer_len))

    return await asyncio.wait_for(asyncio.to_thread(work), timeout=10)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[tuple[ModbusEmulator, str]]:
    cfg = rtu_config(str(tmp_path / "ttyRS485"))
    emu = from_config(cfg)
    await emu.start()
    yield emu, str(cfg.serial_port)
    await emu.stop()


@pytest.mark.parametrize(("unit", "pdu"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_request_over_tcp_gets_exception_03_and_writes_nothing(
    modbus_emulator: ModbusEmulator, unit: int, pdu: bytes
) -> None:
    before = snapshot(modbus_emulator)
    answer = await tcp_exchange(modbus_emulator.port, mbap(0x4D2, unit, pdu), 9)
    assert answer == mbap(0x4D2, unit, bytes([pdu[0] | 0x80, 0x03]))
    assert snapshot(modbus_emulator) == before


@pytest.mark.parametrize(("unit", "pdu"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_request_over_rtu_gets_exception_03_and_writes_nothing(
    bus: tuple[ModbusEmulator, str], unit: int, pdu: bytes
) -> None:
    emu, port = bus
    before = snapshot(emu)
    answer = await rtu_exchange(port, rtu(unit, pdu), 5)
    assert answer == rtu(unit, bytes([pdu[0] | 0x80, 0x03]))
    assert snapshot(emu) == before


async def test_malformed_request_to_an_absent_or_silent_unit_gets_no_answer_on_the_bus(
    bus: tuple[ModbusEmulator, str],
) -> None:
    emu, port = bus
    assert await rtu_exchange(port, rtu(9, bytes([3, 0, 0, 0, 0])), 5) == b""
    emu.unit(AIR).faults.silent = True
    assert await rtu_exchange(port, rtu(AIR, bytes([3, 0, 0, 0, 0])), 5) == b""


async def test_malformed_broadcast_changes_no_unit(bus: tuple[ModbusEmulator, str]) -> None:
    emu, port = bus
    before = snapshot(emu)
    assert await rtu_exchange(port, rtu(0, bytes([5, 0, 2, 0x12, 0x34])), 5) == b""
    assert await rtu_exchange(port, rtu(RELAYS, bytes([1, 0, 0, 0, 8])), 6) == rtu(
        RELAYS, bytes([1, 1, 0])
    )
    assert snapshot(emu) == before


async def test_largest_legal_quantities_and_both_coil_values_are_taken(
    modbus_emulator: ModbusEmulator,
) -> None:
    port = modbus_emulator.port
    # Legal quantities past the mapped addresses: exception 02 (address), not 03 (value).
    for unit, pdu in ((RELAYS, bytes([1, 0, 0, 0x07, 0xD0])), (AIR, bytes([3, 0, 0, 0, 125]))):
        answer = await tcp_exchange(port, mbap(1, unit, pdu), 9)
        assert answer == mbap(1, unit, bytes([pdu[0] | 0x80, 0x02]))
    on, off = bytes([5, 0, 2, 0xFF, 0x00]), bytes([5, 0, 2, 0x00, 0x00])
    assert await tcp_exchange(port, mbap(2, RELAYS, on), 12) == mbap(2, RELAYS, on)
    assert modbus_emulator.unit(RELAYS).get_value("relay_3") is True
    assert await tcp_exchange(port, mbap(3, RELAYS, off), 12) == mbap(3, RELAYS, off)
    assert modbus_emulator.unit(RELAYS).get_value("relay_3") is False
