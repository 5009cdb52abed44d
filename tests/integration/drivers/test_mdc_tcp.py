"""Our MDC driver against the MDC emulator over loopback TCP: state, commands, probe, events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from drivers.mdc import MDCConfig, MDCDriver
from drivers.mdc.emulator import MDCEmulator
from drivers.mdc.messages import Cmd
from drivers.sdk import Command, DeviceReportedError, DeviceTimeout, InvalidArgument, Unsupported
from drivers.sdk.testing import RecordingContext


@pytest.fixture
async def emulator() -> AsyncIterator[MDCEmulator]:
    emu = MDCEmulator(display_id=1)
    await emu.start()
    yield emu
    await emu.stop()


def config_for(emu: MDCEmulator, **kw: Any) -> MDCConfig:
    base: dict[str, Any] = {"id": "lobby-screen", "driver": "samsung_mdc", "host": "127.0.0.1"}
    return MDCConfig.model_validate(
        {**base, "port": emu.port, "display_id": 1, "timeout_s": 1.0, **kw}
    )


@pytest.fixture
async def started(emulator: MDCEmulator) -> AsyncIterator[tuple[MDCDriver, RecordingContext]]:
    ctx = RecordingContext(device_id="lobby-screen")
    driver = MDCDriver(config_for(emulator), ctx)
    await driver.start()
    yield driver, ctx
    await driver.stop()


async def test_poll_reports_power_volume_mute_and_input(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.power, emulator.state.volume, emulator.state.input = False, 12, "magicinfo"
    state = await driver.poll()
    assert state["power"] == "off"
    assert state["volume"] == 12
    assert state["mute"] == "off"
    assert state["input"] == "magicinfo"


async def test_power_command_turns_the_display_on(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.power = False
    result = await driver.execute(Command(action="power", args={"state": "on"}))
    assert emulator.state.power is True
    assert result["power"] == "on"


async def test_input_command_switches_to_displayport_by_alias(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    result = await driver.execute(Command(action="input", args={"source": "DP"}))
    assert emulator.state.input == "dp1"
    assert result["input"] == "dp1"


async def test_volume_and_mute_commands_reach_the_display(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    await driver.execute(Command(action="volume", args={"level": 40}))
    result = await driver.execute(Command(action="mute", args={"state": "on"}))
    assert (emulator.state.volume, emulator.state.mute) == (40, True)
    assert (result["volume"], result["mute"]) == (40, "on")


async def test_reboot_sends_power_code_2(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    await driver.execute(Command(action="reboot"))
    assert any(f.cmd == Cmd.POWER and f.data == b"\x02" for f in emulator.display.seen)


async def test_unknown_input_name_is_an_invalid_argument_naming_valid_inputs(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    with pytest.raises(InvalidArgument, match="hdmi1"):
        await driver.execute(Command(action="input", args={"source": "scart9"}))
    assert not any(f.cmd == Cmd.INPUT_SOURCE for f in emulator.display.seen)


async def test_input_the_model_lacks_reports_the_displays_refusal(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.inputs = ["hdmi1"]
    with pytest.raises(DeviceReportedError, match=r"INPUT_SOURCE.*NAK"):
        await driver.execute(Command(action="input", args={"source": "hdmi2"}))
    assert emulator.state.input == "hdmi1"


async def test_probe_identifies_model_serial_and_firmware(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.serial_number = "ZX9000ABC"
    info = await driver.probe()
    assert (info["model"], info["serial"], info["firmware"]) == (
        "QM55B",
        "ZX9000ABC",
        "S-KTU4WWC-1050.2",
    )
    assert info["class"] == "signage_display"
    assert "hdmi1" in info["inputs"]


async def test_probe_of_old_firmware_without_model_name_still_answers(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.unsupported = {Cmd.MODEL_NAME}
    info = await driver.probe()
    assert info["model"] is None
    assert info["serial"] == emulator.state.serial_number


async def test_display_fault_is_an_event_once_and_clears_once(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, ctx = started
    await driver.poll()
    emulator.state.faults = {"fan", "no_sync"}
    state = await driver.poll()
    await driver.poll()
    emulator.state.faults = set()
    await driver.poll()
    assert state["faults"] == ["fan", "no_sync"]
    assert ctx.events == [
        ("display_fault", {"fault": "fan"}),
        ("display_fault", {"fault": "no_sync"}),
        ("display_fault_cleared", {"fault": "fan"}),
        ("display_fault_cleared", {"fault": "no_sync"}),
    ]
    assert ("temperature", 41, "degC") in ctx.readings


async def test_a_reconnect_does_not_report_the_same_fault_again(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, ctx = started
    emulator.state.faults = {"fan"}
    await driver.poll()
    await driver.stop()  # the supervisor restarts a session with a new driver instance
    again = MDCDriver(config_for(emulator), ctx)
    await again.start()
    try:
        await again.poll()
        emulator.state.faults = set()
        await again.poll()
    finally:
        await again.stop()
    assert ctx.events == [
        ("display_fault", {"fault": "fan"}),
        ("display_fault_cleared", {"fault": "fan"}),
    ]


async def test_display_without_status_command_still_polls(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, ctx = started
    emulator.state.unsupported = {Cmd.DISPLAY_STATUS}
    first = await driver.poll()
    second = await driver.poll()
    assert first["power"] == second["power"] == "on"
    assert "faults" not in second
    assert sum(f.cmd == Cmd.DISPLAY_STATUS for f in emulator.display.seen) == 1
    assert any(event == "mdc_display_status_unsupported" for _, event, _ in ctx.log.records)


async def test_display_without_audio_reports_volume_none(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.volume, emulator.state.mute = None, None
    state = await driver.poll()
    assert (state["volume"], state["mute"]) == (None, None)


async def test_frames_for_another_display_id_are_not_answered(emulator: MDCEmulator) -> None:
    driver = MDCDriver(
        config_for(emulator, display_id=7, timeout_s=0.3, retries=0), RecordingContext()
    )
    await driver.start()
    try:
        with pytest.raises(DeviceTimeout, match="display id 7"):
            await driver.poll()
    finally:
        await driver.stop()


async def test_broadcast_id_commands_every_display_without_waiting_for_replies(
    emulator: MDCEmulator,
) -> None:
    driver = MDCDriver(config_for(emulator, display_id=0xFE), RecordingContext())
    await driver.start()
    try:
        result = await driver.execute(Command(action="power", args={"state": "off"}))
        assert result["assumed"] is True
        assert result["power"] == "off"
        state = await driver.poll()
        assert state["power"] == "off"
        # The emulator got the broadcast frame and obeyed it.
        await driver.execute(Command(action="volume", args={"level": 5}))
        for _ in range(200):
            if emulator.state.volume == 5:
                break
            await asyncio.sleep(0.01)
        assert emulator.state.power is False
        assert emulator.state.volume == 5
        with pytest.raises(Unsupported, match="broadcast"):
            await driver.probe()
    finally:
        await driver.stop()


async def test_refresh_returns_the_polled_state(
    emulator: MDCEmulator, started: tuple[MDCDriver, RecordingContext]
) -> None:
    driver, _ = started
    emulator.state.input = "hdmi2"
    assert (await driver.execute(Command(action="refresh")))["input"] == "hdmi2"
