"""The emulator's request classes: a malformed request gets exception 03, as the spec says.

pymodbus 3.16 checks a read's quantity (and a coil write's, and both of FC 23's) while
*decoding*, and a PDU too short for its fields fails there too, so its server answers such a
request with function code 0x80 and exception 01, from any unit id, even one that is not on the
bus. It also takes any Write Single Coil value but 0x0000 as ON. The Modbus Application Protocol
(v1.1b3, sections 6.1-6.17 and 7) wants exception 03, ILLEGAL DATA VALUE, with the request's own
function code, and nothing written: for a quantity or byte count out of range and for a request
whose implied length is incorrect. These subclasses of pymodbus' requests (FC 1-6, 15, 16, 22,
23) decode every request and refuse the bad ones in `datastore_update`, where the unit is known.
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
    MaskWriteRegisterRequest,
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    ReadWriteMultipleRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)
from pymodbus.pdu.utils import unpack_bitstring


class Admits(Protocol):
    """The store's gate (`emu_store.BusStore.admit`): raises pymodbus' NoSuchIdException for a
    unit that must stay silent, else returns None or the exception code a fault knob sets."""

    async def admit(self, device_id: int) -> Any: ...


class _Refuses(ModbusPDU):
    """Answers exception 03 when `malformed()`, once the unit has let the request in.

    A PDU longer or shorter than its own fields say (`FIELDS`, then as many bytes as a byte
    count among them names) is malformed too: the spec's exception 03 covers "the implied length
    is incorrect". Only Modbus TCP can deliver one, as the MBAP header delimits the PDU; the RTU
    framer cuts a frame to the length its function code and byte count imply.
    """

    #: The request's fixed fields, as a struct format.
    FIELDS = ">HH"
    #: The last of FIELDS is a byte count, and that many payload bytes follow.
    COUNTED = False
    whole = True

    def decode(self, data: bytes) -> None:
        size = struct.calcsize(self.FIELDS)
        if self.COUNTED and len(data) >= size:
            size += data[size - 1]
        self.whole = len(data) == size
        if self.whole:
            self.parse(data)

    def parse(self, data: bytes) -> None:
        """Read the fields of a PDU of the right length, without pymodbus' checks."""
        super().decode(data)

    def malformed(self) -> bool:
        return not self.whole or self.out_of_range()

    def out_of_range(self) -> bool:
        return False

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        if not self.malformed():
            return await super().datastore_update(context, device_id)
        error = await cast(Admits, context).admit(device_id)
        return ExceptionResponse(self.function_code, error or ExcCodes.ILLEGAL_VALUE)


class _Read(_Refuses):
    """FC 1-4: quantity 1 to MAX_COUNT (2000 bits, 125 registers)."""

    MAX_COUNT: int

    def parse(self, data: bytes) -> None:
        self.address, self.count = struct.unpack(self.FIELDS, data)

    def out_of_range(self) -> bool:
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

    def parse(self, data: bytes) -> None:
        super().parse(data)
        self.value = int.from_bytes(data[2:4], "big")

    def out_of_range(self) -> bool:
        return self.value not in (ModbusStatus.ON, ModbusStatus.OFF)


class WriteSingleRegister(_Refuses, WriteSingleRegisterRequest):
    """FC 6: any 16-bit value will do; only the length can be wrong."""


class WriteMultipleCoils(_Refuses, WriteMultipleCoilsRequest):
    """FC 15: quantity 1 to 0x07B0 (pymodbus allows 2000), byte count ceil(quantity / 8)."""

    MAX_COUNT = 0x07B0
    FIELDS, COUNTED = ">HHB", True

    def parse(self, data: bytes) -> None:
        self.address, self.count, self.byte_count = struct.unpack(self.FIELDS, data[:5])
        self.data_byte_count = self.byte_count  # pymodbus compares the two again
        self.bits = unpack_bitstring(data[5:])[: self.count]

    def out_of_range(self) -> bool:
        return not 1 <= self.count <= self.MAX_COUNT or self.byte_count != (self.count + 7) // 8


class WriteMultipleRegisters(_Refuses, WriteMultipleRegistersRequest):
    """FC 16: quantity 1 to 123, byte count twice that. pymodbus checks the same, but before
    it asks the store, so a unit that is not on the bus would answer."""

    FIELDS, COUNTED = ">HHB", True

    def out_of_range(self) -> bool:
        return not 1 <= self.count <= 0x7B or self.byte_count != 2 * self.count


class MaskWriteRegister(_Refuses, MaskWriteRegisterRequest):
    """FC 22: any AND and OR mask will do; only the length can be wrong."""

    FIELDS = ">HHH"


class ReadWriteMultipleRegisters(_Refuses, ReadWriteMultipleRegistersRequest):
    """FC 23: read quantity 1 to 125, write quantity 1 to 121, byte count twice the latter.
    pymodbus refuses a bad read quantity (and a write quantity past 125) while decoding, with
    80 01, and the rest before it asks the store."""

    FIELDS, COUNTED = ">HHHHB", True

    def parse(self, data: bytes) -> None:
        fields = struct.unpack(self.FIELDS, data[:9])
        self.read_address, self.read_count, self.write_address = fields[:3]
        self.write_count, self.write_byte_count = fields[3:]
        self.write_registers = [
            int.from_bytes(data[i : i + 2], "big") for i in range(9, len(data) - 1, 2)
        ]

    def out_of_range(self) -> bool:
        return (
            not 1 <= self.read_count <= 0x7D
            or not 1 <= self.write_count <= 0x79
            or self.write_byte_count != 2 * self.write_count
        )


#: For the server's `custom_pdu`: each replaces pymodbus' request for its function code.
REQUESTS: list[type[ModbusPDU]] = [
    ReadCoils,
    ReadDiscreteInputs,
    ReadHoldingRegisters,
    ReadInputRegisters,
    WriteSingleCoil,
    WriteSingleRegister,
    WriteMultipleCoils,
    WriteMultipleRegisters,
    MaskWriteRegister,
    ReadWriteMultipleRegisters,
]
