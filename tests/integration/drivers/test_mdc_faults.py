"""MDC driver against a misbehaving emulator: each fault maps to the reason code a user sees."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from drivers.mdc import MDCConfig, MDCDriver
from drivers.mdc.emulator import MDCEmulator
from drivers.sdk import (
    Command,
    DeviceReportedError,
    DeviceTimeout,
    ProtocolError,
    Reason,
    Unreachable,
)
from drivers.sdk.testing import RecordingContext


@pytest.fixture
async def emulator() -> AsyncIterator[MDCEmulator]:
    emu = MDCEmulator(display_id=0)
    await emu.start()
    yield emu
    await emu.stop()


def driver_for(port: int, ctx: RecordingContext | None = None, **kw: Any) -> MDCDriver:
    cfg = MDCConfig.model_validate(
        {
            "id": "screen",
            "driver": "samsung_mdc",
            "host": "127.0.0.1",
            "port": port,
            "timeout_s": 0.3,
            "retries": 0,
        }
        | kw
    )
    return MDCDriver(cfg, ctx or RecordingContext(device_id="screen"))


@pytest.fixture
async def driver(emulator: MDCEmulator) -> AsyncIterator[MDCDriver]:
    drv = driver_for(emulator.port)
    await drv.start()
    yield drv
    await drv.stop()


async def test_display_going_silent_mid_session_reports_timeout(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    assert (await driver.poll())["power"] == "on"
    emulator.faults.silent = True
    with pytest.raises(DeviceTimeout) as err:
        await driver.poll()
    assert err.value.reason is Reason.TIMEOUT


async def test_garbage_reply_reports_protocol_error(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.garbage = True
    with pytest.raises(ProtocolError) as err:
        await driver.poll()
    assert err.value.reason is Reason.PROTOCOL_ERROR


async def test_socket_closed_by_display_reports_unreachable(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.disconnect = True
    with pytest.raises(Unreachable) as err:
        await driver.poll()
    assert err.value.reason is Reason.UNREACHABLE


async def test_nak_reply_reports_device_error_with_its_code(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.error_code = "0x03"
    with pytest.raises(DeviceReportedError, match="error code 0x03") as err:
        await driver.execute(Command(action="power", args={"state": "off"}))
    assert err.value.reason is Reason.DEVICE_ERROR
    assert emulator.state.power is True


async def test_reply_slower_than_timeout_reports_timeout(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.delay_s = 1.0
    with pytest.raises(DeviceTimeout):
        await driver.poll()


async def test_late_reply_from_a_timed_out_request_is_not_taken_for_the_next_one(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.delay_s = 0.5
    with pytest.raises(DeviceTimeout):
        await driver.execute(Command(action="volume", args={"level": 33}))
    emulator.faults.clear()
    emulator.state.input = "hdmi2"
    state = await driver.poll()
    assert state["input"] == "hdmi2"
    assert state["volume"] == 33  # the slow set did land on the display


async def test_closed_port_reports_unreachable(loopback_port: int) -> None:
    drv = driver_for(loopback_port)
    with pytest.raises(Unreachable, match=f"127.0.0.1:{loopback_port}"):
        await drv.start()


async def test_driver_recovers_after_the_display_comes_back(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.disconnect = True
    with pytest.raises(Unreachable):
        await driver.poll()
    emulator.faults.clear()
    # What the supervisor does after a DriverError: stop, then start again.
    await driver.stop()
    await driver.start()
    assert (await driver.poll())["power"] == "on"
    assert emulator.connections == 2


async def test_retry_survives_one_garbled_reply(emulator: MDCEmulator) -> None:
    ctx = RecordingContext(device_id="screen")
    drv = driver_for(emulator.port, ctx, retries=2)
    await drv.start()
    try:
        emulator.faults.garbage = True
        poll = asyncio.create_task(drv.poll())
        # Let the first attempt fail on garbage, then heal the display for the retry.
        for _ in range(500):
            if emulator.received or poll.done():
                break
            await asyncio.sleep(0.01)
        emulator.faults.clear()
        state = await poll
    finally:
        await drv.stop()
    assert state["power"] == "on"
    assert any(event == "mdc_request_retry" for _, event, _ in ctx.log.records)


async def test_hung_display_does_not_delay_another_displays_poll(emulator: MDCEmulator) -> None:
    hung = MDCEmulator(display_id=0)
    await hung.start()
    slow = driver_for(hung.port, timeout_s=5.0)
    fast = driver_for(emulator.port)
    await slow.start()
    await fast.start()
    try:
        hung.faults.silent = True
        slow_poll = asyncio.create_task(slow.poll(), name="slow")
        fast_poll = asyncio.create_task(fast.poll(), name="fast")
        done, _ = await asyncio.wait({slow_poll, fast_poll}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {fast_poll}
        assert fast_poll.result()["power"] == "on"
        slow_poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow_poll
    finally:
        await slow.stop()
        await fast.stop()
        await hung.stop()


async def test_command_waits_for_a_running_poll_instead_of_interleaving(
    emulator: MDCEmulator, driver: MDCDriver
) -> None:
    emulator.faults.delay_s = 0.05
    results = await asyncio.gather(
        driver.poll(), driver.execute(Command(action="volume", args={"level": 60})), driver.poll()
    )
    assert results[1]["volume"] == 60
    assert all(r["power"] == "on" for r in results)


async def test_a_port_that_streams_something_else_is_a_protocol_error_at_once() -> None:
    """A camera or web port given by mistake: the request gives up after a little noise, not
    after reading (and burning CPU on) everything the peer sends until `timeout_s`."""

    async def stream(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                w.write(b"A" * 65536)
                await w.drain()

    server = await asyncio.start_server(stream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    drv = driver_for(port, timeout_s=30)
    try:
        await drv.start()
        with pytest.raises(ProtocolError) as err:
            await asyncio.wait_for(drv.poll(), 10)
    finally:
        await drv.stop()
        server.close()
    assert "not MDC frames" in str(err.value) and err.value.reason is Reason.PROTOCOL_ERROR
