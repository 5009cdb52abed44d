"""Whatever a peer on loopback TCP answers, the MDC client raises only typed driver errors, and
its next request to a healthy display (our emulator) works."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.mdc.client import MDCClient
from drivers.mdc.codec import Reply, encode_reply
from drivers.mdc.config import MDCConfig
from drivers.mdc.emulator import MDCEmulator
from drivers.mdc.messages import Cmd, parse_status
from drivers.sdk import DriverError
from drivers.sdk.testing import ListLogger
from tests.support.peers import junk_then_healthy


async def _exchange(junk: bytes, hang_up: bool) -> None:
    display = MDCEmulator(display_id=1, port=0)
    await display.start()
    try:
        async with junk_then_healthy(junk, hang_up=hang_up, healthy_port=display.port) as port:
            config = MDCConfig.model_validate(
                {"id": "wall", "driver": "samsung_mdc", "host": "127.0.0.1", "port": port}
                | {"display_id": 1, "timeout_s": 0.5, "retries": 0}
            )
            client = MDCClient(config, ListLogger())
            try:
                await client.connect()
                with contextlib.suppress(DriverError):
                    await client.request(Cmd.STATUS)
                if not client.connected:  # what the driver does after Unreachable: reconnect
                    await client.connect()
                status = parse_status(await client.request(Cmd.STATUS))
            finally:
                await client.close()
        assert status.power == display.state.power
    finally:
        await display.stop()


frames = st.builds(
    lambda display_id, rcmd, data, ack: encode_reply(
        Reply(display_id, ack, rcmd, data if ack else data[:1].ljust(1, b"\x01"))
    ),
    st.sampled_from([0, 1, 0xFE]),
    st.sampled_from([int(Cmd.STATUS), int(Cmd.POWER), 0x77]),
    st.binary(max_size=12),
    st.booleans(),
)
junk = st.one_of(
    st.binary(max_size=300),
    st.builds(b"\xaa".join, st.lists(st.binary(max_size=8), max_size=6)),  # header bytes inside
    st.lists(st.one_of(frames, st.binary(max_size=6)), max_size=4).map(b"".join),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=junk, hang_up=st.booleans())
def test_any_peer_bytes_give_a_typed_error_and_the_next_request_works(
    junk: bytes, hang_up: bool
) -> None:
    asyncio.run(asyncio.wait_for(_exchange(junk, hang_up), 10))
