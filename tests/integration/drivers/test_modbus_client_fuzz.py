"""Whatever a peer on loopback TCP answers, the Modbus TCP client raises only typed driver
errors, and its next request to a healthy unit (our emulator, a pymodbus server) works."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.modbus.client import ModbusClient
from drivers.modbus.codec import Function
from drivers.modbus.emulator import ModbusEmulator
from drivers.modbus.transport import open_tcp
from drivers.modbus.values import decode_registers
from drivers.sdk import DriverError
from drivers.sdk.testing import ListLogger
from tests.support.net import free_port
from tests.support.peers import junk_then_healthy

VOLTS = Function.READ_INPUT_REGISTERS, 0x0000, 2  # SDM120 voltage, float32


async def _exchange(junk: bytes, hang_up: bool) -> None:
    meter = ModbusEmulator.from_profiles({1: "sdm120"}, port=free_port())
    await meter.start()
    meter.unit(1).set_value("voltage", 230.5)
    try:
        async with junk_then_healthy(junk, hang_up=hang_up, healthy_port=meter.port) as port:
            client = ModbusClient(
                lambda: open_tcp("127.0.0.1", port, 1.0),
                "tcp",
                timeout_s=0.5,
                retries=0,
                log=ListLogger(),
            )
            try:
                with contextlib.suppress(DriverError):
                    await client.read(1, *VOLTS)
                registers = await client.read(1, *VOLTS)  # reconnects by itself when it must
            finally:
                await client.close()
        assert decode_registers([int(r) for r in registers], "float32") == 230.5
    finally:
        await meter.stop()


def mbap(tid: int, unit: int, pdu: bytes) -> bytes:
    """An MBAP frame as a peer might send it: any ids, any PDU, a length that may not match."""
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


pdus = st.one_of(
    st.binary(max_size=20),
    st.builds(lambda n, rest: bytes([4, n]) + rest, st.integers(0, 255), st.binary(max_size=12)),
    st.builds(
        lambda f, code: bytes([f, code]), st.sampled_from([0x84, 0x83, 0x80]), st.integers(0, 255)
    ),
)
#: Transaction ids of the request being answered (1) and of earlier ones; a reply to a request
#: not sent yet cannot be told from the real one, by this client or any other.
frames = st.builds(mbap, st.sampled_from([0, 1, 0xFFFF]), st.sampled_from([0, 1, 2]), pdus)
junk = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(frames, st.binary(max_size=8)), max_size=4).map(b"".join),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=junk, hang_up=st.booleans())
def test_any_peer_bytes_give_a_typed_error_and_the_next_request_works(
    junk: bytes, hang_up: bool
) -> None:
    asyncio.run(asyncio.wait_for(_exchange(junk, hang_up), 10))
