"""MDC secured mode (banner, TLS, PIN) over loopback: right PIN, wrong PIN, mismatched settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from samsung_mdc import MDC  # type: ignore[import-untyped]
from samsung_mdc.exceptions import MDCTLSAuthFailed  # type: ignore[import-untyped]

from drivers.mdc import MDCConfig, MDCDriver
from drivers.mdc.emulator import MDCEmulator, from_config
from drivers.sdk import AuthFailed, Command, DeviceTimeout, Reason
from drivers.sdk.testing import RecordingContext


@pytest.fixture
async def secured() -> AsyncIterator[MDCEmulator]:
    emu = MDCEmulator(display_id=0, secured=True, pin="4321")
    await emu.start()
    yield emu
    await emu.stop()


def make_driver(
    port: int, tmp_path: Path, pin: str | None, **kw: Any
) -> tuple[MDCDriver, RecordingContext]:
    cfg: dict[str, Any] = {
        "id": "window",
        "driver": "samsung_mdc",
        "host": "127.0.0.1",
        "port": port,
    }
    cfg |= {"timeout_s": 2.0, "retries": 0}
    if pin is not None:
        (tmp_path / "mdc.pin").write_text(pin + "\n", encoding="utf-8")
        cfg |= {"secured": True, "pin_file": str(tmp_path / "mdc.pin")}
    ctx = RecordingContext(device_id="window")
    return MDCDriver(MDCConfig.model_validate(cfg | kw), ctx), ctx


async def test_right_pin_gives_a_working_session(secured: MDCEmulator, tmp_path: Path) -> None:
    driver, ctx = make_driver(secured.port, tmp_path, "4321")
    await driver.start()
    try:
        await driver.execute(Command(action="power", args={"state": "off"}))
        assert (await driver.poll())["power"] == "off"
    finally:
        await driver.stop()
    assert secured.state.power is False
    logged = repr(ctx.log.records)
    assert "4321" not in logged  # the PIN never reaches the logs


async def test_wrong_pin_reports_auth_failed(secured: MDCEmulator, tmp_path: Path) -> None:
    driver, _ = make_driver(secured.port, tmp_path, "1111")
    with pytest.raises(AuthFailed, match="refused the MDC PIN") as err:
        await driver.start()
    assert err.value.reason is Reason.AUTH_FAILED
    assert "1111" not in str(err.value)


async def test_missing_pin_file_reports_auth_failed(secured: MDCEmulator, tmp_path: Path) -> None:
    driver, _ = make_driver(
        secured.port, tmp_path, None, secured=True, pin_file=str(tmp_path / "absent.pin")
    )
    with pytest.raises(AuthFailed, match=r"absent\.pin"):
        await driver.start()


async def test_secured_display_without_secured_config_tells_engineer_what_to_set(
    secured: MDCEmulator, tmp_path: Path
) -> None:
    driver, _ = make_driver(secured.port, tmp_path, None)
    await driver.start()
    try:
        with pytest.raises(AuthFailed, match="secured: true"):
            await driver.poll()
    finally:
        await driver.stop()


async def test_secured_config_against_plain_display_hints_to_turn_secured_off(
    tmp_path: Path,
) -> None:
    plain = MDCEmulator(display_id=0)
    await plain.start()
    try:
        driver, _ = make_driver(plain.port, tmp_path, "0000", timeout_s=0.5)
        # A plain display says nothing until asked, so the banner never comes.
        with pytest.raises(DeviceTimeout, match="secured: false"):
            await driver.start()
    finally:
        await plain.stop()


async def test_third_party_client_passes_the_pin_handshake(secured: MDCEmulator) -> None:
    async with MDC(f"127.0.0.1:{secured.port}", timeout=5, pin="4321") as mdc:
        assert (await mdc.serial_number(0))[0] == secured.state.serial_number
    with pytest.raises(MDCTLSAuthFailed):
        async with MDC(f"127.0.0.1:{secured.port}", timeout=5, pin="0000") as mdc:
            await mdc.status(0)


async def test_from_config_serves_secured_mode_with_the_configured_pin(
    tmp_path: Path, loopback_port: int
) -> None:
    driver, _ = make_driver(loopback_port, tmp_path, "2468")
    emu = from_config(driver.config)
    await emu.start()
    try:
        assert "secured" in emu.describe()
        await driver.start()
        assert (await driver.poll())["power"] == "on"
    finally:
        await driver.stop()
        await emu.stop()
