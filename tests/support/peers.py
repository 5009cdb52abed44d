"""A loopback TCP peer for client fuzz tests: junk for the first request, then a healthy device."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def junk_then_healthy(junk: bytes, *, hang_up: bool, healthy_port: int) -> AsyncIterator[int]:
    """Yield the port of a peer that answers the first request it gets with `junk` (then hangs
    up, when `hang_up`), and relays every other byte, on that connection and any later one, to
    and from the healthy device listening on loopback `healthy_port`."""
    answered = False
    writers: list[asyncio.StreamWriter] = []
    handlers: set[asyncio.Task[Any]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        writers.append(writer)
        if not answered:
            answered = True
            await reader.read(64)  # the request, whatever it was
            writer.write(junk)
            await writer.drain()
            if hang_up:
                writer.close()
                return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", healthy_port)
        writers.append(up_writer)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:  # relays end on their own once both sides are closed
            writer.close()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 5)
