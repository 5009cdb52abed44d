"""The emulator's request classes: a malformed request gets exception 03, as the spec says.

pymodbus 3.16 checks a read's quantity (and a coil write's) while *decoding*, so its server
answers such a request with function code 0x80 and exception 01, from any unit id, even one that
is not on the bus. It also takes any Write Single Coil value but 0x0000 as ON. The Modbus
Application Protocol (v1.1b3, sections 6.1-6.12) wants exception 03, ILLEGAL DATA VALUE, with the
request's own function code, and nothing written. These subclasses of pymodbus' requests decode
every well-framed request and refuse the bad ones in `datastore_update`, where the unit is known.
The emulator registers them with its server (`custom_pdu`), which uses them instead of the stock
ones for the same function codes.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol, cast

from pymodbus.constants import ExcCodes, ModbusStatus
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    WriteMultipleRegistersRequest,
)
from pymodbus.pdu.utils import unpack_bitstring


class Admits(Protocol):
    """The store's gate (`emu_store.BusStore.admit`): raises pymodbus' NoSuchIdException for a
    unit that must stay silent, else returns None or the exception code a fault knob sets."""

    async def admit(self, device_id: int) -> Any: ...


class _Refuses(ModbusPDU):
    """Answers exception 03 when `malformed()`, once the unit has let the request in."""

    def malformed(self) -> bool:
        return False

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        if not self.malformed():
            return await super().datastore_update(context, device_id)
        error = await cast(Admits, context).admit(device_id)
        return ExceptionResponse(self.function_code, error or ExcCodes.ILLEGAL_VALUE)


class _Read(_Refuses):
    """FC 1-4: quantity 1 to MAX_COUNT (2000 bits, 125 registers)."""

    MAX_COUNT: int

    def decode(self, data: bytes) -> None:
        self.address, self.count = struct.unpack(">HH", data[:4])

    def malformed(self) -> bool:
        return not 1 <= self.count <= self.MAX_COUNT


class ReadCoils(_Read, ReadCoilsRequest):
    pass


class ReadDiscreteInputs(_Read, ReadDiscreteInputsRequest):
    pass


class ReadHoldingRegisters(_Read, ReadHoldingRegistersRequest):
    pass


class ReadInputRegisters(_Read, ReadInputRegistersRequest):
    pass


class WriteSingleCoil(_Refuses, WriteSingleCoilRequest):
    """FC 5: the value is 0xFF00 (ON) or 0x0000 (OFF), nothing else."""

    value = int(ModbusStatus.ON)

    def decode(self, data: bytes) -> None:
        super().decode(data)
        self.value = int.from_bytes(data[2:4], "big")

    def malformed(self) -> bool:
        return self.value not in (ModbusStatus.ON, ModbusStatus.OFF)


class WriteMultipleCoils(_Refuses, WriteMultipleCoilsRequest):
    """FC 15: quantity 1 to 0x07B0 (pymodbus allows 2000), byte count ceil(quantity / 8)."""

    MAX_COUNT = 0x07B0

    def decode(self, data: bytes) -> None:
        self.address, self.count, byte_count = struct.unpack(">HHB", data[:5])
        self.byte_count, self.data_byte_count = byte_count, len(data) - 5
        self.bits = unpack_bitstring(data[5 : 5 + byte_count])[: self.count]

    def malformed(self) -> bool:
        return not 1 <= self.count <= self.MAX_COUNT or (
            self.byte_count != (self.count + 7) // 8 or self.data_byte_count != self.byte_count
        )


class WriteMultipleRegisters(_Refuses, WriteMultipleRegistersRequest):
    """FC 16: quantity 1 to 123, byte count twice that. pymodbus checks the same, but before
    it asks the store, so a unit that is not on the bus would answer."""

    payload_bytes = 0

    def decode(self, data: bytes) -> None:
        super().decode(data)
        self.payload_bytes = len(data) - 5

    def malformed(self) -> bool:
        return not 1 <= self.count <= 0x7B or (
            self.byte_count != 2 * self.count or self.payload_bytes != self.byte_count
        )


#: For the server's `custom_pdu`: each replaces pymodbus' request for its function code.
REQUESTS: list[type[ModbusPDU]] = [
    ReadCoils,
    ReadDiscreteInputs,
    ReadHoldingRegisters,
    ReadInputRegisters,
    WriteSingleCoil,
    WriteMultipleCoils,
    WriteMultipleRegisters,
]
