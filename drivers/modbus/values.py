"""Registers <-> typed values: data types, word order and byte order.

Vendors disagree on how a 32- or 64-bit value is laid over 16-bit registers, so both the order of
the words and the order of the bytes inside each word are per-point settings. "big"/"big" is the
Modbus convention (ABCD); Eastron meters use it, many PLCs use little word order (CDAB).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Literal

from .errors import ValueCodecError

DataType = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"
]
Order = Literal["big", "little"]

#: struct format (big-endian) and register count per register-backed type.
_FORMATS: dict[str, tuple[str, int]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "int64": (">q", 4),
    "uint64": (">Q", 4),
    "float32": (">f", 2),
    "float64": (">d", 4),
}
INTEGER_TYPES = frozenset({"int16", "uint16", "int32", "uint32", "int64", "uint64"})
FLOAT_TYPES = frozenset({"float32", "float64"})


def register_count(data_type: DataType) -> int:
    """How many 16-bit registers (or bits, for bool) one value occupies."""
    return 1 if data_type == "bool" else _FORMATS[data_type][1]


def integer_range(data_type: DataType) -> tuple[int, int]:
    bits = 16 * register_count(data_type)
    if data_type.startswith("u"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _words_to_bytes(registers: Sequence[int], word_order: Order, byte_order: Order) -> bytes:
    words = list(registers) if word_order == "big" else list(reversed(registers))
    out = bytearray()
    for word in words:
        pair = word.to_bytes(2, "big")
        out += pair if byte_order == "big" else pair[::-1]
    return bytes(out)


def _bytes_to_words(data: bytes, word_order: Order, byte_order: Order) -> list[int]:
    words = []
    for i in range(0, len(data), 2):
        pair = data[i : i + 2]
        words.append(int.from_bytes(pair if byte_order == "big" else pair[::-1], "big"))
    return words if word_order == "big" else list(reversed(words))


def decode_registers(
    registers: Sequence[int],
    data_type: DataType,
    word_order: Order = "big",
    byte_order: Order = "big",
) -> int | float:
    """The raw (unscaled) value held in `registers`. Floats may come back NaN or infinite."""
    if data_type == "bool":
        raise ValueCodecError("bool points are read from coils or discrete inputs, not registers")
    fmt, count = _FORMATS[data_type]
    if len(registers) != count:
        raise ValueCodecError(f"{data_type} needs {count} registers, got {len(registers)}")
    for value in registers:
        if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise ValueCodecError(f"register value {value!r} is not a 16-bit unsigned integer")
    result: int | float = struct.unpack(fmt, _words_to_bytes(registers, word_order, byte_order))[0]
    return result


def encode_registers(
    value: int | float,
    data_type: DataType,
    word_order: Order = "big",
    byte_order: Order = "big",
) -> list[int]:
    """The registers that hold raw `value`. Out-of-range values raise ValueCodecError."""
    if data_type == "bool":
        raise ValueCodecError("bool points are written to coils, not registers")
    fmt, _count = _FORMATS[data_type]
    if data_type in INTEGER_TYPES:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueCodecError(f"{value!r} is not a whole number for {data_type}")
            value = int(value)
        low, high = integer_range(data_type)
        if not low <= value <= high:
            raise ValueCodecError(f"{value} is outside {data_type} range {low}..{high}")
    elif not math.isfinite(value):
        raise ValueCodecError(f"{value!r} is not a finite number")
    try:
        packed = struct.pack(fmt, value)
    except (struct.error, OverflowError) as exc:
        raise ValueCodecError(f"{value!r} does not fit {data_type}: {exc}") from None
    return _bytes_to_words(packed, word_order, byte_order)
