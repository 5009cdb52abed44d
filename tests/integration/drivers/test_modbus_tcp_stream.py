"""A Modbus TCP peer that sends frames nobody asked for: the client never takes one of them for
the answer to a request, and the request after it gets the right value.

The peer is a raw asyncio server on loopback, written here from the wire format (not with our
codec), whose holding register at address A holds 1000 + A. Only its first exchange misbehaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

import pytest

from drivers.modbus.client import ModbusClient
from drivers.modbus.codec import Function
from drivers.modbus.transport import open_tcp
from drivers.sdk import DeviceTimeout, ProtocolError, Reason
from drivers.sdk.testing import ListLogger

UNIT = 7
WRONG = 0xDEAD  # what the frames nobody asked for carry


def registers_frame(tid: int, values: list[int]) -> bytes:
    """A read-holding-registers answer with transaction id `tid`."""
    data = b"".join(struct.pack(">H", v) for v in values)
    return struct.pack(">HHHBBB", tid & 0xFFFF, 0, 3 + len(data), UNIT, 3, len(data)) + data


class OddPeer:
    """Answers every read correctly, except that its first exchange does what `mode` says:

    - `answer_then_unasked`: answers, then (50 ms later) sends a frame with the next id;
    - `unasked_then_answer`: sends a frame with the next id, then the answer;
    - `late`: answers only when the second request comes, just before answering that one.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.requests = 0
        self.unasked_sent = asyncio.Event()
        self._held: bytes | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            for _ in range(20):
                tid, _proto, length, _unit = struct.unpack(">HHHB", await reader.readexactly(7))
                _function, address, count = struct.unpack(">BHH", await reader.readexactly(5))
                assert length == 6
                self.requests += 1
                answer = registers_frame(tid, [1000 + address + i for i in range(count)])
                unasked = registers_frame(tid + 1, [WRONG] * count)
                first = self.requests == 1
                if first and self.mode == "answer_then_unasked":
                    writer.write(answer)
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    writer.write(unasked)
                    await writer.drain()
                    self.unasked_sent.set()
                elif first and self.mode == "unasked_then_answer":
                    writer.write(unasked + answer)
                elif first and self.mode == "late":
                    self._held = answer
                else:
                    writer.write((self._held or b"") + answer)
                    self._held = None
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def client_of(peer: OddPeer) -> AsyncIterator[ModbusClient]:
    server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = ModbusClient(
        lambda: open_tcp("127.0.0.1", port, 1.0), "tcp", timeout_s=0.3, retries=0, log=ListLogger()
    )
    try:
        async with asyncio.timeout(10):
            yield client
    finally:
        await client.close()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


async def read_holding(client: ModbusClient, address: int) -> list[int]:
    return [int(v) for v in await client.read(UNIT, Function.READ_HOLDING_REGISTERS, address, 1)]


async def test_frame_sent_unasked_after_an_answer_is_not_taken_for_the_next_answer() -> None:
    peer = OddPeer("answer_then_unasked")
    async with client_of(peer) as client:
        assert await read_holding(client, 10) == [1010]
        await peer.unasked_sent.wait()  # (client_of bounds the wait)
        assert await read_holding(client, 20) == [1020]
        assert await read_holding(client, 30) == [1030]


async def test_frame_answering_no_request_is_a_protocol_error_then_the_next_request_is_right() -> (
    None
):
    peer = OddPeer("unasked_then_answer")
    async with client_of(peer) as client:
        with pytest.raises(ProtocolError, match="transaction id 2, expected 1") as caught:
            await read_holding(client, 10)
        assert caught.value.reason is Reason.PROTOCOL_ERROR
        assert await read_holding(client, 20) == [1020]
        assert await read_holding(client, 30) == [1030]
        assert peer.connections == 2  # the out-of-step connection was replaced


async def test_late_answer_to_a_timed_out_request_is_skipped() -> None:
    peer = OddPeer("late")
    async with client_of(peer) as client:
        with pytest.raises(DeviceTimeout):
            await read_holding(client, 10)
        assert await read_holding(client, 20) == [1020]
        assert await read_holding(client, 30) == [1030]
        assert peer.connections == 1  # a late answer is no reason to reconnect
