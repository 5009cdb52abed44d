"""The MDC driver over RS-232: socat pty pairs stand in for the null-modem cable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.mdc import MDCConfig, MDCDriver
from drivers.mdc.emulator import MDCEmulator, from_config
from drivers.sdk import Command, DeviceReportedError, DeviceTimeout, ProtocolError, Unreachable
from drivers.sdk.testing import RecordingContext


@pytest.fixture
async def display(ptys: tuple[str, str]) -> AsyncIterator[MDCEmulator]:
    emu = MDCEmulator(display_id=2, serial_path=ptys[0])
    await emu.start()
    yield emu
    await emu.stop()


def serial_driver(port: str, **kw: Any) -> MDCDriver:
    cfg = {"id": "teller", "driver": "samsung_mdc", "serial": {"port": port}, "display_id": 2}
    cfg |= {"timeout_s": 0.5, "retries": 0}
    return MDCDriver(MDCConfig.model_validate(cfg | kw), RecordingContext(device_id="teller"))


@pytest.fixture
async def driver(display: MDCEmulator, ptys: tuple[str, str]) -> AsyncIterator[MDCDriver]:
    drv = serial_driver(ptys[1])
    await drv.start()
    yield drv
    await drv.stop()


async def test_poll_and_commands_work_over_rs232(display: MDCEmulator, driver: MDCDriver) -> None:
    display.state.input = "magicinfo"
    assert (await driver.poll())["input"] == "magicinfo"
    result = await driver.execute(Command(action="input", args={"source": "hdmi2"}))
    assert result["input"] == "hdmi2"
    await driver.execute(Command(action="power", args={"state": "off"}))
    assert (display.state.input, display.state.power) == ("hdmi2", False)


async def test_probe_over_rs232_reads_serial_number(
    display: MDCEmulator, driver: MDCDriver
) -> None:
    info = await driver.probe()
    assert info["serial"] == display.state.serial_number
    assert info["endpoint"].endswith("@9600")


async def test_silent_display_on_rs232_reports_timeout(
    display: MDCEmulator, driver: MDCDriver
) -> None:
    await driver.poll()
    display.faults.silent = True
    with pytest.raises(DeviceTimeout):
        await driver.poll()


async def test_pulled_cable_on_rs232_reads_as_silence(
    display: MDCEmulator, driver: MDCDriver
) -> None:
    display.faults.disconnect = True  # RS-232 has no hang-up: the display just stops answering
    with pytest.raises(DeviceTimeout):
        await driver.poll()


async def test_line_noise_on_rs232_reports_protocol_error(
    display: MDCEmulator, driver: MDCDriver
) -> None:
    display.faults.garbage = True
    with pytest.raises(ProtocolError):
        await driver.poll()


async def test_nak_on_rs232_reports_device_error(display: MDCEmulator, driver: MDCDriver) -> None:
    display.faults.error_code = "1"
    with pytest.raises(DeviceReportedError):
        await driver.execute(Command(action="volume", args={"level": 3}))


async def test_driver_reopens_the_port_after_a_restart(
    display: MDCEmulator, driver: MDCDriver
) -> None:
    await driver.poll()
    await driver.stop()
    await driver.start()
    assert (await driver.poll())["power"] == "on"


async def test_missing_serial_port_reports_unreachable(tmp_path: Path) -> None:
    drv = serial_driver(str(tmp_path / "ttyUSB9"))
    with pytest.raises(Unreachable, match="ttyUSB9"):
        await drv.start()


async def test_from_config_puts_an_emulated_display_at_the_configured_port(tmp_path: Path) -> None:
    drv = serial_driver(str(tmp_path / "ttyMDC0"))
    emu = from_config(drv.config)
    await emu.start()
    try:
        assert str(tmp_path / "ttyMDC0") in emu.describe()
        await drv.start()
        assert (await drv.poll())["power"] == "on"
    finally:
        await drv.stop()
        await emu.stop()
