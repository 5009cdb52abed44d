"""Modbus PDUs and their two framings (MBAP for TCP, address + CRC for RTU). Pure bytes, no I/O.

Only the function codes a meter/sensor/relay driver needs are supported: read coils (1), read
discrete inputs (2), read holding registers (3), read input registers (4), write single coil (5),
write single register (6), write multiple coils (15) and write multiple registers (16). Every
malformed input raises `FrameError`, never a bare exception, so the client can map it to
`protocol_error`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from .errors import FrameError


class Function(IntEnum):
    READ_COILS = 1
    READ_DISCRETE_INPUTS = 2
    READ_HOLDING_REGISTERS = 3
    READ_INPUT_REGISTERS = 4
    WRITE_SINGLE_COIL = 5
    WRITE_SINGLE_REGISTER = 6
    WRITE_MULTIPLE_COILS = 15
    WRITE_MULTIPLE_REGISTERS = 16


READ_BIT_FUNCTIONS = frozenset({Function.READ_COILS, Function.READ_DISCRETE_INPUTS})
READ_REGISTER_FUNCTIONS = frozenset(
    {Function.READ_HOLDING_REGISTERS, Function.READ_INPUT_REGISTERS}
)
WRITE_FUNCTIONS = frozenset(
    {
        Function.WRITE_SINGLE_COIL,
        Function.WRITE_SINGLE_REGISTER,
        Function.WRITE_MULTIPLE_COILS,
        Function.WRITE_MULTIPLE_REGISTERS,
    }
)
MAX_READ_BITS = 2000
MAX_READ_REGISTERS = 125
MAX_WRITE_REGISTERS = 123
MAX_WRITE_COILS = 1968
MAX_PDU = 253
MBAP_HEADER_LEN = 7
RTU_MIN_FRAME = 5  # address, function, exception code, CRC (2)


class ExceptionCode(IntEnum):
    """Exception codes from the Modbus application protocol spec, section 7."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04
    ACKNOWLEDGE = 0x05
    SERVER_DEVICE_BUSY = 0x06
    NEGATIVE_ACKNOWLEDGE = 0x07
    MEMORY_PARITY_ERROR = 0x08
    GATEWAY_PATH_UNAVAILABLE = 0x0A
    GATEWAY_TARGET_FAILED = 0x0B


@dataclass(frozen=True)
class ReadBitsReply:
    values: tuple[bool, ...]


@dataclass(frozen=True)
class ReadRegistersReply:
    values: tuple[int, ...]


@dataclass(frozen=True)
class WriteReply:
    address: int
    value: int  # the written value (5, 6) or the quantity written (15, 16)


@dataclass(frozen=True)
class ExceptionReply:
    function: int
    code: int

    @property
    def name(self) -> str:
        try:
            return ExceptionCode(self.code).name.lower()
        except ValueError:
            return f"exception_{self.code:#04x}"


Reply = ReadBitsReply | ReadRegistersReply | WriteReply | ExceptionReply


# --- requests --------------------------------------------------------------------------------


def read_request(function: Function, address: int, count: int) -> bytes:
    """PDU for functions 1-4; counts beyond the spec's limits never reach the wire."""
    limit = MAX_READ_BITS if function in READ_BIT_FUNCTIONS else MAX_READ_REGISTERS
    if function not in READ_BIT_FUNCTIONS | READ_REGISTER_FUNCTIONS:
        raise FrameError(f"function {function} is not a read")
    _check_span(address, count, limit)
    return struct.pack(">BHH", function, address, count)


def write_coil_request(address: int, value: bool) -> bytes:
    _check_span(address, 1, 1)
    return struct.pack(">BHH", Function.WRITE_SINGLE_COIL, address, 0xFF00 if value else 0)


def write_register_request(address: int, value: int) -> bytes:
    _check_span(address, 1, 1)
    _check_register(value)
    return struct.pack(">BHH", Function.WRITE_SINGLE_REGISTER, address, value)


def write_registers_request(address: int, values: Sequence[int]) -> bytes:
    _check_span(address, len(values), MAX_WRITE_REGISTERS)
    for value in values:
        _check_register(value)
    head = struct.pack(
        ">BHHB", Function.WRITE_MULTIPLE_REGISTERS, address, len(values), 2 * len(values)
    )
    return head + struct.pack(f">{len(values)}H", *values)


def write_coils_request(address: int, values: Sequence[bool]) -> bytes:
    _check_span(address, len(values), MAX_WRITE_COILS)
    packed = pack_bits(values)
    head = struct.pack(">BHHB", Function.WRITE_MULTIPLE_COILS, address, len(values), len(packed))
    return head + packed


def pack_bits(values: Sequence[bool]) -> bytes:
    """Coils go LSB-first within each byte (spec 6.11)."""
    out = bytearray((len(values) + 7) // 8)
    for i, bit in enumerate(values):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def unpack_bits(data: bytes, count: int) -> tuple[bool, ...]:
    return tuple(bool(data[i // 8] >> (i % 8) & 1) for i in range(count))


def _check_span(address: int, count: int, limit: int) -> None:
    if not 0 <= address <= 0xFFFF:
        raise FrameError(f"address {address} is outside 0..65535")
    if not 1 <= count <= limit:
        raise FrameError(f"quantity {count} is outside 1..{limit}")
    if address + count > 0x10000:
        raise FrameError(f"address {address} + quantity {count} runs past 65535")


def _check_register(value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise FrameError(f"register value {value} is outside 0..65535")


# --- responses -------------------------------------------------------------------------------


def decode_response(request_function: int, pdu: bytes, expected_count: int) -> Reply:
    """Parse the answer to a request of `request_function` that asked for `expected_count` items."""
    if len(pdu) < 2:
        raise FrameError(f"response PDU too short ({len(pdu)} bytes)")
    function = pdu[0]
    if function == request_function | 0x80:
        if len(pdu) != 2:
            raise FrameError(f"exception response has {len(pdu)} bytes, expected 2")
        return ExceptionReply(function=request_function, code=pdu[1])
    if function != request_function:
        raise FrameError(f"response function {function} does not match request {request_function}")
    if function in READ_BIT_FUNCTIONS | READ_REGISTER_FUNCTIONS:
        byte_count = pdu[1]
        if len(pdu) != 2 + byte_count:
            raise FrameError(f"byte count {byte_count} does not match {len(pdu) - 2} data bytes")
        data = pdu[2:]
        if function in READ_BIT_FUNCTIONS:
            if byte_count != (expected_count + 7) // 8:
                raise FrameError(f"{byte_count} data bytes for {expected_count} bits")
            return ReadBitsReply(unpack_bits(data, expected_count))
        if byte_count != 2 * expected_count:
            raise FrameError(f"{byte_count} data bytes for {expected_count} registers")
        return ReadRegistersReply(struct.unpack(f">{expected_count}H", data))
    if function in WRITE_FUNCTIONS:
        if len(pdu) != 5:
            raise FrameError(f"write response has {len(pdu)} bytes, expected 5")
        address, value = struct.unpack(">HH", pdu[1:])
        return WriteReply(address=address, value=value)
    raise FrameError(f"unsupported function code {function}")


# --- Modbus TCP (MBAP) -----------------------------------------------------------------------


def encode_tcp_frame(transaction_id: int, unit_id: int, pdu: bytes) -> bytes:
    if not 0 <= transaction_id <= 0xFFFF or not 0 <= unit_id <= 0xFF:
        raise FrameError("transaction id or unit id out of range")
    if not 1 <= len(pdu) <= MAX_PDU:
        raise FrameError(f"PDU length {len(pdu)} is outside 1..{MAX_PDU}")
    return struct.pack(">HHHB", transaction_id, 0, len(pdu) + 1, unit_id) + pdu


@dataclass(frozen=True)
class MbapHeader:
    transaction_id: int
    unit_id: int
    pdu_length: int


def decode_mbap_header(header: bytes) -> MbapHeader:
    """The 7-byte MBAP header; `pdu_length` tells the reader how many bytes follow."""
    if len(header) != MBAP_HEADER_LEN:
        raise FrameError(f"MBAP header must be 7 bytes, got {len(header)}")
    tid, protocol, length, unit = struct.unpack(">HHHB", header)
    if protocol != 0:
        raise FrameError(f"MBAP protocol id {protocol} is not Modbus (0)")
    if not 2 <= length <= MAX_PDU + 1:
        raise FrameError(f"MBAP length {length} is outside 2..{MAX_PDU + 1}")
    return MbapHeader(transaction_id=tid, unit_id=unit, pdu_length=length - 1)


# --- Modbus RTU ------------------------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_rtu_frame(unit_id: int, pdu: bytes) -> bytes:
    if not 0 <= unit_id <= 247:
        raise FrameError(f"RTU unit id {unit_id} is outside 0..247")
    if not 1 <= len(pdu) <= MAX_PDU:
        raise FrameError(f"PDU length {len(pdu)} is outside 1..{MAX_PDU}")
    body = bytes([unit_id]) + pdu
    return body + crc16(body).to_bytes(2, "little")


def rtu_response_length(head: bytes) -> int:
    """Total length of an RTU response, from its first three bytes (RTU has no length field)."""
    if len(head) < 3:
        raise FrameError(f"need 3 bytes to size an RTU response, got {len(head)}")
    function = head[1]
    if function & 0x80:
        return RTU_MIN_FRAME
    if function in READ_BIT_FUNCTIONS | READ_REGISTER_FUNCTIONS:
        return 5 + head[2]
    if function in WRITE_FUNCTIONS:
        return 8
    raise FrameError(f"unsupported function code {function} in RTU response")


def decode_rtu_frame(frame: bytes) -> tuple[int, bytes]:
    """(unit id, PDU) of a whole RTU frame, after checking its CRC."""
    if len(frame) < RTU_MIN_FRAME:
        raise FrameError(f"RTU frame too short ({len(frame)} bytes)")
    body, crc = frame[:-2], int.from_bytes(frame[-2:], "little")
    if crc16(body) != crc:
        raise FrameError(f"RTU CRC mismatch (got {crc:#06x}, computed {crc16(body):#06x})")
    return body[0], body[1:]
