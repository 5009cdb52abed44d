"""Faults injected into the Modbus TCP emulator: what the driver reports, and that it recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.modbus.config import ModbusConfig
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk import (
    Command,
    DeviceReportedError,
    DeviceTimeout,
    ProtocolError,
    Reason,
    Unreachable,
)
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.modbus_support import tcp_config
from tests.support.net import free_port
from tests.support.runners import running_device


@pytest.fixture
async def driver(
    modbus_emulator: ModbusEmulator,
) -> AsyncIterator[tuple[ModbusDriver, RecordingContext]]:
    ctx = RecordingContext()
    drv = ModbusDriver(tcp_config(modbus_emulator.port, timeout_s=0.3), ctx)
    await drv.start()
    yield drv, ctx
    await drv.stop()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("device_failure", Reason.DEVICE_ERROR),
        ("2", Reason.INVALID_ARGUMENT),
        ("0x06", Reason.BUSY),
        ("1", Reason.UNSUPPORTED),
        ("0x0B", Reason.TIMEOUT),
    ],
)
async def test_exception_reply_marks_only_that_unit_with_its_reason(
    driver: tuple[ModbusDriver, RecordingContext],
    modbus_emulator: ModbusEmulator,
    code: str,
    reason: Reason,
) -> None:
    drv, _ctx = driver
    modbus_emulator.unit("air").faults.error_code = code
    state = await drv.poll()
    assert state["units"]["air"]["online"] is False
    assert state["units"]["air"]["reason"] == reason.value
    assert state["units"]["main-meter"]["online"] is True
    assert state["units_online"] == 2


async def test_exception_reply_to_a_write_reaches_the_caller(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    modbus_emulator.unit("relays").faults.error_code = "device_failure"
    with pytest.raises(DeviceReportedError, match="0x04 server_device_failure"):
        await drv.execute(Command(action="power", args={"state": "on"}))


async def test_garbage_reply_reports_protocol_error_then_recovers(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    modbus_emulator.faults.garbage = True
    with pytest.raises(ProtocolError):
        await drv.poll()
    modbus_emulator.faults.clear()
    assert (await drv.poll())["units_online"] == 3


async def test_silent_device_reports_timeout(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    modbus_emulator.faults.silent = True
    with pytest.raises(DeviceTimeout):
        await drv.poll()


async def test_socket_closed_by_device_reports_unreachable(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    modbus_emulator.faults.disconnect = True
    with pytest.raises(Unreachable, match="closed"):
        await drv.poll()
    modbus_emulator.faults.clear()
    assert (await drv.poll())["units_online"] == 3


async def test_driver_recovers_after_the_server_restarts(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, ctx = driver
    await drv.poll()
    await modbus_emulator.stop()
    with pytest.raises(Unreachable, match="refused"):
        await drv.poll()
    await modbus_emulator.start()
    await drv.stop()  # what the supervisor does before a restart
    await drv.start()
    assert (await drv.poll())["units_online"] == 3
    assert len([n for n, _v, _u in ctx.readings if n == "main-meter.voltage"]) == 2


async def test_server_restart_between_polls_is_invisible(
    driver: tuple[ModbusDriver, RecordingContext], modbus_emulator: ModbusEmulator
) -> None:
    drv, _ctx = driver
    await drv.poll()
    await modbus_emulator.stop()
    await modbus_emulator.start()
    assert (await drv.poll())["units_online"] == 3  # the dead idle socket is replaced once


async def test_nothing_listening_at_start_reports_unreachable() -> None:
    drv = ModbusDriver(tcp_config(free_port()), RecordingContext())
    with pytest.raises(Unreachable, match="refused"):
        await drv.start()
    await drv.stop()


async def test_one_hanging_device_does_not_delay_another_devices_polls(
    modbus_emulator: ModbusEmulator,
) -> None:
    hung_emu = from_config(tcp_config(free_port()))
    await hung_emu.start()
    hung_emu.faults.silent = True
    hung = ModbusDriver(tcp_config(hung_emu.port, timeout_s=60.0), RecordingContext())
    healthy_ctx = RecordingContext()
    healthy = ModbusDriver(tcp_config(modbus_emulator.port), healthy_ctx)
    await hung.start()
    await healthy.start()
    hung_poll = asyncio.create_task(hung.poll(), name="device[hung].poll")
    try:
        for _ in range(5):
            await healthy.poll()
        assert not hung_poll.done()  # still waiting on its silent device
        assert len([n for n, _v, _u in healthy_ctx.readings if n == "main-meter.voltage"]) == 5
    finally:
        hung_poll.cancel()
        await asyncio.gather(hung_poll, return_exceptions=True)
        await hung.stop()
        await healthy.stop()
        await hung_emu.stop()


async def test_a_bus_of_many_silent_units_is_slow_but_not_hung() -> None:
    # Ten silent units at 0.3 s x 2 tries each make one poll take ~6 s, past the 5 s a single
    # request is given. The live unit must still be read, not restarted as `hung` forever.
    units = [
        {
            "name": f"m{i}",
            "unit_id": i,
            "points": [{"name": "v", "address": 0, "function": "holding"}],
        }
        for i in range(1, 12)
    ]
    config = ModbusConfig.model_validate(
        {
            "id": "bus",
            "driver": "modbus",
            "host": "127.0.0.1",
            "port": free_port(),
            "units": units,
            "timeout_s": 0.3,
            "retries": 1,
            "poll_interval_s": 1,
        }
    )
    emu = from_config(config)
    await emu.start()
    for i in range(2, 12):
        emu.unit(i).faults.silent = True
    try:
        async with running_device(config, ModbusDriver, online_within_s=20) as runner:
            assert runner.status.restarts == 0
            assert runner.status.state["units"]["m1"]["online"]
    finally:
        await emu.stop()
