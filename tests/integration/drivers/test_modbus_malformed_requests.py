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


def rw(read_count: int, write_count: int, byte_count: int, payload: bytes) -> bytes:
    """FC 23 reading from and writing to 0x0100 (co2_alarm_threshold)."""
    return struct.pack(">BHHHHB", 23, 0x100, read_count, 0x100, write_count, byte_count) + payload


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
    # FC 23 reads 0x0100 and writes 1500 (0x05DC) there when it is well formed.
    "read/write registers, read quantity 0": (AIR, rw(0, 1, 2, b"\x05\xdc")),
    "read/write registers, read quantity 126": (AIR, rw(126, 1, 2, b"\x05\xdc")),
    "read/write registers, write quantity 0": (AIR, rw(1, 0, 0, b"")),
    "read/write registers, write quantity 122": (AIR, rw(1, 122, 244, b"\x05\xdc" * 122)),
    "read/write registers, byte count 3 for 1": (AIR, rw(1, 1, 3, b"\x05\xdc\x00")),
    "read/write registers, byte count 2 for 2": (AIR, rw(1, 2, 2, b"\x05\xdc")),
}

#: PDUs shorter or longer than their own fields say: exception 03 too ("the implied length is
#: incorrect"). Only the MBAP header can delimit one; see the RTU test below for the bus.
WRONG_LENGTH = {
    "read holding registers, 2 data bytes": (AIR, bytes([3, 1, 0])),
    "read holding registers, no data": (AIR, bytes([3])),
    "read holding registers, 5 data bytes": (AIR, bytes([3, 1, 0, 0, 1, 0])),
    "read coils, 3 data bytes": (RELAYS, bytes([1, 0, 0, 0])),
    "read input registers, 3 data bytes": (METER, bytes([4, 0, 0, 0])),
    "write single coil, 3 data bytes": (RELAYS, bytes([5, 0, 2, 0xFF])),
    "write single register, 3 data bytes": (AIR, bytes([6, 1, 0, 0x05])),
    "write coils, no byte count": (RELAYS, bytes([15, 0, 0, 0, 8])),
    "write coils, 1 of 2 counted bytes": (RELAYS, bytes([15, 0, 0, 0, 9, 2, 0xFF])),
    "write registers, no byte count": (AIR, bytes([16, 1, 0, 0, 1])),
    "write registers, 1 of 2 counted bytes": (AIR, bytes([16, 1, 0, 0, 1, 2, 0x05])),
    "mask write register, 5 data bytes": (AIR, bytes([22, 1, 0, 0, 0, 0x05])),
    "read/write registers, no byte count": (AIR, bytes([23, 1, 0, 0, 1, 1, 0, 0, 1])),
    "read/write registers, 1 of 2 counted bytes": (AIR, rw(1, 1, 2, b"\x05")),
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


ON_TCP = MALFORMED | WRONG_LENGTH


@pytest.mark.parametrize(("unit", "pdu"), ON_TCP.values(), ids=ON_TCP.keys())
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


async def test_short_rtu_frame_gets_no_answer_and_the_masters_retry_does(
    bus: tuple[ModbusEmulator, str],
) -> None:
    """RTU has no length field: pymodbus' framer cuts a frame where its function code says
    (8 bytes for FC 3), not at the silence after it, so a short frame and the next request fail
    the CRC together and are dropped, as any frame with a bad CRC is. Left so: telling a short
    frame from one still arriving needs the timing that pymodbus does not pass on."""
    emu, port = bus
    before = snapshot(emu)
    read = rtu(AIR, bytes([3, 1, 0, 0, 1]))
    assert await rtu_exchange(port, rtu(AIR, bytes([3, 1, 0])), 5) == b""
    assert await rtu_exchange(port, read, 7) == b""
    assert await rtu_exchange(port, read, 7) == rtu(AIR, bytes([3, 2, 0x04, 0xB0]))
    assert snapshot(emu) == before


async def test_malformed_request_to_an_absent_or_silent_unit_gets_no_answer_on_the_bus(
    bus: tuple[ModbusEmulator, str],
) -> None:
    emu, port = bus
    for pdu in (bytes([3, 0, 0, 0, 0]), rw(1, 122, 244, b"\x05\xdc" * 122)):
        assert await rtu_exchange(port, rtu(9, pdu), 5) == b""
    emu.unit(AIR).faults.silent = True
    for pdu in (bytes([3, 0, 0, 0, 0]), rw(1, 122, 244, b"\x05\xdc" * 122)):
        assert await rtu_exchange(port, rtu(AIR, pdu), 5) == b""


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


#: Well-formed writes of each function code the emulator takes in its own classes, with the
#: echo (or, for FC 23, the read) the spec prescribes, and what the unit holds afterwards.
WRITES = {
    "write single register": (AIR, bytes([6, 1, 0, 0x05, 0xDC]), bytes([6, 1, 0, 0x05, 0xDC])),
    "write coils": (RELAYS, bytes([15, 0, 0, 0, 3, 1, 0b101]), bytes([15, 0, 0, 0, 3])),
    "write registers": (AIR, bytes([16, 1, 0, 0, 1, 2, 0x05, 0xDC]), bytes([16, 1, 0, 0, 1])),
    "mask write register": (
        AIR,
        bytes([22, 1, 0, 0, 0, 0x05, 0xDC]),
        bytes([22, 1, 0, 0, 0, 0x05, 0xDC]),
    ),
    "read/write registers": (AIR, rw(1, 1, 2, b"\x05\xdc"), bytes([23, 2, 0x05, 0xDC])),
}


@pytest.mark.parametrize(("unit", "pdu", "echo"), WRITES.values(), ids=WRITES.keys())
async def test_well_formed_write_is_taken(
    modbus_emulator: ModbusEmulator, unit: int, pdu: bytes, echo: bytes
) -> None:
    answer = await tcp_exchange(modbus_emulator.port, mbap(5, unit, pdu), 7 + len(echo))
    assert answer == mbap(5, unit, echo)
    if unit == RELAYS:
        relays = modbus_emulator.unit(RELAYS)
        assert [relays.get_value(f"relay_{i}") for i in (1, 2, 3)] == [True, False, True]
    else:
        assert modbus_emulator.unit(AIR).get_value("co2_alarm_threshold") == 1500
