"""A misbehaving projector (emulator fault knobs) shows up as the right reason code, and the
driver recovers once the projector behaves again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.pjlink.config import PJLinkConfig
from drivers.pjlink.driver import PJLinkDriver
from drivers.pjlink.emulator import PJLinkEmulator
from drivers.pjlink.projector import ProjectorModel
from drivers.sdk import (
    AuthFailed,
    Command,
    DeviceReportedError,
    DeviceTimeout,
    DriverError,
    InvalidArgument,
    ProtocolError,
    Reason,
    Unreachable,
    Unsupported,
)
from drivers.sdk.testing import RecordingContext
from tests.support.net import free_port
from tests.support.runners import running_device


@pytest.fixture
async def emu(loopback_port: int) -> AsyncIterator[PJLinkEmulator]:
    emulator = PJLinkEmulator(
        port=loopback_port, udp_port=0, password="s3cret", model=ProjectorModel(power="on")
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "pjlink.pw"
    path.write_text("s3cret\n")
    return path


def _driver(
    port: int, password_file: Path | None, **cfg: Any
) -> tuple[PJLinkDriver, RecordingContext]:
    ctx = RecordingContext(device_id="lobby")
    return PJLinkDriver(_config(port, password_file, **cfg), ctx), ctx


def _config(port: int, password_file: Path | None, **cfg: Any) -> PJLinkConfig:
    return PJLinkConfig.model_validate(
        {
            "id": "lobby",
            "driver": "pjlink",
            "host": "127.0.0.1",
            "port": port,
            "password_file": str(password_file) if password_file else None,
            "timeout_s": 0.3,
            "retries": 0,
            **cfg,
        }
    )


@pytest.fixture
async def driver(emu: PJLinkEmulator, secret: Path) -> AsyncIterator[PJLinkDriver]:
    drv, _ = _driver(emu.port, secret)
    await drv.start()
    yield drv
    await drv.stop()


async def test_projector_going_silent_mid_session_reports_timeout(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    await driver.poll()
    emu.faults.silent = True
    with pytest.raises(DeviceTimeout) as err:
        await driver.poll()
    assert err.value.reason is Reason.TIMEOUT


async def test_garbage_reply_reports_protocol_error(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.garbage = True
    with pytest.raises(ProtocolError) as err:
        await driver.poll()
    assert err.value.reason is Reason.PROTOCOL_ERROR


async def test_garbage_greeting_reports_protocol_error(emu: PJLinkEmulator, secret: Path) -> None:
    emu.faults.garbage = True
    drv, _ = _driver(emu.port, secret)
    with pytest.raises(ProtocolError):
        await drv.start()
    await drv.stop()


async def test_projector_hanging_up_reports_unreachable(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.disconnect = True
    with pytest.raises(Unreachable) as err:
        await driver.poll()
    assert err.value.reason is Reason.UNREACHABLE


async def test_nothing_listening_reports_unreachable(secret: Path) -> None:
    drv, _ = _driver(free_port(), secret)
    with pytest.raises(Unreachable, match="cannot connect"):
        await drv.start()
    await drv.stop()


@pytest.mark.parametrize(
    ("code", "error", "reason"),
    [
        ("ERR1", Unsupported, Reason.UNSUPPORTED),
        ("ERR2", InvalidArgument, Reason.INVALID_ARGUMENT),
        ("ERR3", DeviceReportedError, Reason.BUSY),
        ("ERR4", DeviceReportedError, Reason.DEVICE_ERROR),
    ],
)
async def test_error_reply_to_a_command_reports_its_reason(
    emu: PJLinkEmulator,
    driver: PJLinkDriver,
    code: str,
    error: type[DriverError],
    reason: Reason,
) -> None:
    emu.faults.error_code = code
    with pytest.raises(error) as err:
        await driver.execute(Command(action="power", args={"state": "off"}))
    assert err.value.reason is reason
    assert emu.model.power == "on"


async def test_error_reply_to_power_query_marks_the_poll_failed(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.error_code = "ERR4"
    with pytest.raises(DeviceReportedError) as err:
        await driver.poll()
    assert err.value.reason is Reason.DEVICE_ERROR


async def test_wrong_password_reports_auth_failed(emu: PJLinkEmulator, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.pw"
    wrong.write_text("guess\n")
    drv, _ = _driver(emu.port, wrong)
    with pytest.raises(AuthFailed, match="rejected") as err:
        await drv.start()
    assert err.value.reason is Reason.AUTH_FAILED
    await drv.stop()


async def test_missing_password_on_protected_projector_reports_auth_failed(
    emu: PJLinkEmulator,
) -> None:
    drv, _ = _driver(emu.port, None)
    with pytest.raises(AuthFailed, match="password_file"):
        await drv.start()
    await drv.stop()


async def test_unreadable_password_file_reports_auth_failed(
    emu: PJLinkEmulator, tmp_path: Path
) -> None:
    drv, _ = _driver(emu.port, tmp_path / "missing.pw")
    with pytest.raises(AuthFailed, match="secret file"):
        await drv.start()


async def test_projector_answering_erra_mid_session_reports_auth_failed(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.error_code = "ERRA"
    with pytest.raises(AuthFailed):
        await driver.poll()


async def test_password_never_appears_in_logs(emu: PJLinkEmulator, secret: Path) -> None:
    drv, ctx = _driver(emu.port, secret)
    await drv.start()
    await drv.poll()
    emu.faults.silent = True
    with pytest.raises(DeviceTimeout):
        await drv.poll()
    await drv.stop()
    assert ctx.log.records
    assert "s3cret" not in repr(ctx.log.records)


async def test_poll_works_again_once_the_fault_clears(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.silent = True
    with pytest.raises(DeviceTimeout):
        await driver.poll()
    emu.faults.clear()
    assert (await driver.poll())["power"] == "on"


async def test_poll_cancelled_by_a_timeout_leaves_no_stale_answer_behind(
    emu: PJLinkEmulator, driver: PJLinkDriver
) -> None:
    emu.faults.delay_s = 0.3
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(driver.poll(), timeout=0.1)  # the supervisor's poll timeout
    emu.faults.clear()
    await asyncio.sleep(0.4)  # the late answer to the cancelled request is now in the socket
    state = await driver.poll()
    assert state["power"] == "on"
    assert state["errors"]["lamp"] == "ok"


async def test_retries_ride_out_a_projector_that_drops_a_session(
    emu: PJLinkEmulator, secret: Path
) -> None:
    drv, ctx = _driver(emu.port, secret, retries=1)
    await drv.start()
    emu.faults.disconnect = True
    # Clear the fault as soon as the driver logs its first failed attempt.
    original = ctx.log.info

    def clear_on_failure(event: str, **kw: Any) -> None:
        emu.faults.clear()
        original(event, **kw)

    ctx.log.info = clear_on_failure  # type: ignore[method-assign]
    assert (await drv.poll())["power"] == "on"
    assert [r[1] for r in ctx.log.records].count("pjlink_request_retry") == 1
    await drv.stop()


async def test_one_hanging_projector_does_not_delay_another(
    emu: PJLinkEmulator, secret: Path, loopback_port: int
) -> None:
    hung = PJLinkEmulator(port=free_port(), udp_port=0, model=ProjectorModel(power="on"))
    await hung.start()
    slow, _ = _driver(hung.port, None, timeout_s=60)
    healthy, _ = _driver(emu.port, secret)
    try:
        await slow.start()
        await healthy.start()
        hung.faults.silent = True
        slow_poll = asyncio.create_task(slow.poll(), name="device[slow].poll")
        healthy_poll = asyncio.create_task(healthy.poll(), name="device[healthy].poll")
        done, _ = await asyncio.wait(
            {slow_poll, healthy_poll}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        assert done == {healthy_poll}
        assert healthy_poll.result()["power"] == "on"
        assert not slow_poll.done()
        slow_poll.cancel()
        await asyncio.gather(slow_poll, return_exceptions=True)
    finally:
        await slow.stop()
        await healthy.stop()
        await hung.stop()


async def test_a_slow_but_healthy_projector_gets_its_command_done(secret: Path) -> None:
    # Every answer takes 0.35 s, inside the 0.5 s timeout; `power on` is a set plus its
    # read-backs, several round trips. It used to fail as `timeout` after 2 s, projector on.
    emulator = PJLinkEmulator(
        port=free_port(), udp_port=0, password="s3cret", model=ProjectorModel(power="off")
    )
    await emulator.start()
    config = _config(emulator.port, secret, timeout_s=0.5, poll_interval_s=600)
    try:
        async with running_device(config, PJLinkDriver) as runner:
            emulator.faults.delay_s = 0.35
            result = await runner.execute(Command(action="power", args={"state": "on"}))
        assert emulator.model.power in ("on", "warming")
        assert result
    finally:
        await emulator.stop()
