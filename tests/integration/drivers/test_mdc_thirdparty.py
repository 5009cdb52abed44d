"""python-samsung-mdc (an independent client) drives our emulator, so the emulator is not just
agreeing with our own codec: over loopback TCP and over a socat pty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from samsung_mdc import MDC  # type: ignore[import-untyped]
from samsung_mdc.exceptions import NAKError  # type: ignore[import-untyped]

from drivers.mdc.emulator import MDCEmulator
from drivers.sdk.pty import PtyPair


@pytest.fixture
async def tcp_display() -> AsyncIterator[MDCEmulator]:
    emu = MDCEmulator(display_id=5)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def pty_display(tmp_path: Path) -> AsyncIterator[tuple[MDCEmulator, str]]:
    pair = PtyPair(tmp_path / "ttyMDC")
    emu = MDCEmulator(display_id=5, pty=pair)
    await emu.start()
    yield emu, str(pair.host_path)
    await emu.stop()


async def test_status_power_volume_input_serial_over_tcp(tcp_display: MDCEmulator) -> None:
    async with MDC(f"127.0.0.1:{tcp_display.port}", timeout=5) as mdc:
        power, volume, mute, source, *_ = await mdc.status(5)
        assert (power.name, volume, mute.name, source.name) == ("ON", 25, "OFF", "HDMI1")
        assert (await mdc.power(5, ["OFF"]))[0].name == "OFF"
        assert (await mdc.volume(5, [77]))[0] == 77
        assert (await mdc.input_source(5, ["HDMI2"]))[0].name == "HDMI2"
        assert (await mdc.mute(5, ["ON"]))[0].name == "ON"
        assert (await mdc.serial_number(5))[0] == tcp_display.state.serial_number
        assert (await mdc.software_version(5))[0] == tcp_display.state.software_version
        assert (await mdc.model_name(5))[0] == "QM55B"
        lamp, temp, *_ = await mdc.error_status(5)
        assert (lamp.name, temp.name) == ("NORMAL", "NORMAL")
    state = tcp_display.state
    assert (state.power, state.volume, state.input, state.mute) == (False, 77, "hdmi2", True)


async def test_unsupported_input_gets_a_nak_the_client_understands(
    tcp_display: MDCEmulator,
) -> None:
    async with MDC(f"127.0.0.1:{tcp_display.port}", timeout=5) as mdc:
        with pytest.raises(NAKError) as err:
            await mdc.input_source(5, ["HDMI4"])
    assert err.value.error_code == 0x02
    assert tcp_display.state.input == "hdmi1"


async def test_error_reply_fault_is_a_nak_with_the_chosen_code(tcp_display: MDCEmulator) -> None:
    tcp_display.faults.error_code = "7"
    async with MDC(f"127.0.0.1:{tcp_display.port}", timeout=5) as mdc:
        with pytest.raises(NAKError) as err:
            await mdc.status(5)
    assert err.value.error_code == 7


async def test_status_power_volume_input_serial_over_pty(
    pty_display: tuple[MDCEmulator, str],
) -> None:
    emu, port = pty_display
    async with MDC(port, mode="serial", timeout=5, baudrate=9600) as mdc:
        power, volume, *_ = await mdc.status(5)
        assert (power.name, volume) == ("ON", 25)
        await mdc.power(5, ["OFF"])
        await mdc.volume(5, [9])
        await mdc.input_source(5, ["DISPLAY_PORT_1"])
        assert (await mdc.serial_number(5))[0] == emu.state.serial_number
        with pytest.raises(NAKError):
            await mdc.input_source(5, ["HDMI3"])
    assert (emu.state.power, emu.state.volume, emu.state.input) == (False, 9, "dp1")
