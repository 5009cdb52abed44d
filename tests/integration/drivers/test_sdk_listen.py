"""The emulators' shared TCP listener: stop() really ends the sessions a driver still holds open."""

from __future__ import annotations

import asyncio

from drivers.sdk.listen import TcpService


async def test_stop_hangs_up_on_a_client_that_is_still_connected() -> None:
    greeted = asyncio.Event()

    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\r")
        await writer.drain()
        greeted.set()
        await reader.read()  # would wait for the client forever

    service = TcpService(chatty, name="test-emulator")
    await service.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        assert await asyncio.wait_for(reader.readuntil(b"\r"), 5) == b"hello\r"
        await asyncio.wait_for(greeted.wait(), 5)
        await service.stop()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the emulator hung up
    finally:
        writer.close()
    assert service.accepted == 1


async def test_a_client_that_vanishes_mid_session_does_not_stop_the_service() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readexactly(4)  # IncompleteReadError when the client just leaves
        writer.write(line)
        await writer.drain()

    service = TcpService(echo, name="test-emulator")
    await service.start("127.0.0.1", 0)
    try:
        _, quitter = await asyncio.open_connection("127.0.0.1", service.port)
        quitter.write(b"ab")
        quitter.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
        writer.write(b"ping")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
        writer.close()
    finally:
        await service.stop()
    assert service.accepted == 2
