"""Class 2 over UDP on loopback: the %2SRCH search and status notifications to the driver."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from drivers.pjlink import SearchHit, search
from drivers.pjlink.config import PJLinkConfig
from drivers.pjlink.driver import PJLinkDriver
from drivers.pjlink.emulator import PJLinkEmulator
from drivers.pjlink.projector import ProjectorModel
from drivers.sdk import Command, DriverError
from drivers.sdk.testing import RecordingContext
from tests.support.net import free_port


async def _wait_for(check: Callable[[], bool]) -> bool:
    """Let the loop deliver datagrams: at most 100 rounds / ~5 s."""
    for _ in range(100):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


async def test_search_finds_the_class2_projector_by_mac(loopback_port: int) -> None:
    emu = PJLinkEmulator(port=loopback_port, udp_port=0)
    await emu.start()
    try:
        hits = await search("127.0.0.1", emu.udp_port, timeout_s=0.5)
    finally:
        await emu.stop()
    assert hits == [SearchHit(host="127.0.0.1", mac="02:00:00:00:43:52")]


async def test_search_gets_no_answer_from_a_class1_projector(loopback_port: int) -> None:
    emu = PJLinkEmulator(port=loopback_port, udp_port=0, model=ProjectorModel(pjclass=1))
    await emu.start()
    try:
        assert await search("127.0.0.1", emu.udp_port, timeout_s=0.3) == []
    finally:
        await emu.stop()


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
async def test_socat_search_datagram_gets_ackn(loopback_port: int) -> None:
    """socat as an independent UDP client: the emulator answers a hand-made %2SRCH."""
    emu = PJLinkEmulator(port=loopback_port, udp_port=0)
    await emu.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            "socat",
            "-t",
            "1",
            "-",
            f"UDP:127.0.0.1:{emu.udp_port}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(b"%2SRCH\r"), timeout=20)
    finally:
        await emu.stop()
    assert out == b"%2ACKN=02:00:00:00:43:52\r"


@pytest.fixture
async def wired(loopback_port: int) -> AsyncIterator[tuple[PJLinkEmulator, PJLinkDriver, Any]]:
    """A driver listening for notifications and an emulator sending them there."""
    notify_port = free_port(socket.SOCK_DGRAM)
    emu = PJLinkEmulator(
        port=loopback_port,
        udp_port=0,
        model=ProjectorModel(power="on"),
        notify_to=("127.0.0.1", notify_port),
    )
    await emu.start()
    config = PJLinkConfig.model_validate(
        {
            "id": "wall",
            "driver": "pjlink",
            "host": "127.0.0.1",
            "port": emu.port,
            "notify_port": notify_port,
            "notify_bind": "127.0.0.1",
        }
    )
    ctx = RecordingContext(device_id="wall")
    driver = PJLinkDriver(config, ctx)
    await driver.start()
    await driver.poll()
    yield emu, driver, ctx
    await driver.stop()
    await emu.stop()


async def test_lamp_failure_notification_raises_an_event_before_the_next_poll(
    wired: tuple[PJLinkEmulator, PJLinkDriver, RecordingContext],
) -> None:
    emu, driver, ctx = wired
    emu.model.set_errors(lamp="error")
    assert await _wait_for(lambda: bool(ctx.events))
    assert ctx.events == [
        ("projector_fault", {"category": "lamp", "level": "error", "previous": "ok"})
    ]
    assert driver.last_state()["errors"]["lamp"] == "error"
    # The next poll confirms the same status and does not announce it twice.
    await driver.poll()
    assert len(ctx.events) == 1


async def test_power_and_input_notifications_update_state(
    wired: tuple[PJLinkEmulator, PJLinkDriver, RecordingContext],
) -> None:
    emu, driver, _ = wired
    emu.model.answer(1, "INPT", "11")  # someone used the remote / another controller
    assert await _wait_for(lambda: driver.last_state()["input"] == "rgb1")
    emu.model.answer(1, "POWR", "0")
    assert await _wait_for(lambda: driver.last_state()["power"] == "off")


async def test_link_up_notification_records_the_mac(
    wired: tuple[PJLinkEmulator, PJLinkDriver, RecordingContext],
) -> None:
    emu, driver, _ = wired
    emu.send_linkup()
    assert await _wait_for(lambda: driver.last_state().get("mac") == "02:00:00:00:43:52")


async def test_notification_from_another_host_is_ignored(
    wired: tuple[PJLinkEmulator, PJLinkDriver, RecordingContext],
) -> None:
    _, driver, ctx = wired
    assert driver.notify_port is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as spoof:
        spoof.bind(("127.0.0.2", 0))
        spoof.sendto(b"%2POWR=0\r", ("127.0.0.1", driver.notify_port))
    assert await _wait_for(
        lambda: any(r[1] == "pjlink_notify_foreign_source" for r in ctx.log.records)
    )
    assert driver.last_state()["power"] == "on"


async def test_junk_notification_is_logged_and_ignored(
    wired: tuple[PJLinkEmulator, PJLinkDriver, RecordingContext],
) -> None:
    _, driver, ctx = wired
    assert driver.notify_port is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"\xff\xfe%2POWR=9\r", ("127.0.0.1", driver.notify_port))
    assert await _wait_for(lambda: any(r[1] == "pjlink_notify_invalid" for r in ctx.log.records))
    state = await driver.execute(Command(action="refresh"))
    assert state["power"] == "on"


async def test_notify_port_already_taken_is_a_config_error(loopback_port: int) -> None:
    emu = PJLinkEmulator(port=loopback_port, udp_port=0)
    await emu.start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        config = PJLinkConfig.model_validate(
            {
                "id": "wall",
                "driver": "pjlink",
                "host": "127.0.0.1",
                "port": emu.port,
                "notify_port": taken.getsockname()[1],
                "notify_bind": "127.0.0.1",
            }
        )
        driver = PJLinkDriver(config, RecordingContext())
        try:
            with pytest.raises(DriverError, match="notify_port") as err:
                await driver.start()
            assert getattr(err.value, "reason", None) == "config_error"
        finally:
            await driver.stop()
            await emu.stop()
