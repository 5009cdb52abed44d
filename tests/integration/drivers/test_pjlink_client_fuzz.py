"""Whatever a peer on loopback TCP answers, the PJLink client raises only typed driver errors."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.pjlink.client import PJLinkClient
from drivers.sdk import DriverError
from drivers.sdk.testing import ListLogger


async def _exchange(greeting: bytes, reply: bytes) -> None:
    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Greeting and answer at once, then hang up: no waiting, so each example is quick.
        writer.write(greeting + reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = PJLinkClient(
        "127.0.0.1", port, password="pw", timeout_s=0.2, retries=0, log=ListLogger()
    )
    try:
        await client.request("POWR")
    except DriverError:
        pass
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    greeting=st.one_of(
        st.just(b"PJLINK 0\r"), st.just(b"PJLINK 1 0123abcd\r"), st.binary(max_size=40)
    ),
    reply=st.one_of(
        st.binary(max_size=700),
        st.builds(lambda b: b"%1POWR=" + b, st.binary(max_size=20)),
    ),
)
def test_any_peer_bytes_give_a_typed_error_or_an_answer(greeting: bytes, reply: bytes) -> None:
    asyncio.run(_exchange(greeting, reply))
