"""The PJLink driver against the PJLink emulator over real loopback TCP sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers import registry
from drivers.pjlink.config import PJLinkConfig
from drivers.pjlink.driver import PJLinkDriver
from drivers.pjlink.emulator import PJLinkEmulator, from_config
from drivers.pjlink.projector import ProjectorModel
from drivers.pjlink.values import Lamp
from drivers.sdk import (
    Command,
    DeviceReportedError,
    InvalidArgument,
    Reason,
    Unreachable,
    Unsupported,
)
from drivers.sdk.testing import RecordingContext


@pytest.fixture
async def make(loopback_port: int) -> AsyncIterator[Any]:
    """Start an emulator and a started driver pointing at it; both are torn down after."""
    started: list[tuple[PJLinkEmulator, PJLinkDriver]] = []

    async def _make(
        *, model: ProjectorModel | None = None, emu_kw: dict[str, Any] | None = None, **cfg: Any
    ) -> tuple[PJLinkEmulator, PJLinkDriver, RecordingContext]:
        emu = PJLinkEmulator(port=loopback_port, udp_port=0, model=model, **(emu_kw or {}))
        await emu.start()
        config = PJLinkConfig.model_validate(
            {"id": "lobby", "driver": "pjlink", "host": "127.0.0.1", "port": emu.port, **cfg}
        )
        ctx = RecordingContext(device_id="lobby")
        driver = PJLinkDriver(config, ctx)
        started.append((emu, driver))
        await driver.start()
        return emu, driver, ctx

    yield _make
    for emu, driver in started:
        await driver.stop()
        await emu.stop()


async def _until(driver: PJLinkDriver, key: str, value: Any) -> dict[str, Any]:
    """Poll until state[key] == value, at most 100 polls / ~5 s."""
    state: dict[str, Any] = {}
    for _ in range(100):
        state = dict(await driver.poll())
        if state[key] == value:
            return state
        await asyncio.sleep(0.05)
    return state


def test_registry_resolves_pjlink_to_this_driver() -> None:
    assert registry.load("pjlink") is PJLinkDriver


async def test_poll_reports_power_errors_lamp_input_and_mute(make: Any) -> None:
    _, driver, _ = await make(model=ProjectorModel(power="on", input="32"))
    state = await driver.poll()
    assert state["power"] == "on"
    assert state["input"] == "digital2"
    assert state["mute"] == "off"
    assert state["errors"]["lamp"] == "ok"
    assert state["lamp_hours"] == 1200
    assert state["pjlink_class"] == 2


async def test_standby_projector_reports_off_with_no_input(make: Any) -> None:
    _, driver, _ = await make()
    state = await driver.poll()
    assert (state["power"], state["input"], state["mute"]) == ("off", None, None)


async def test_power_on_passes_through_warming_then_reports_on(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(warmup_s=2.0))
    result = await driver.execute(Command(action="power", args={"state": "on"}))
    assert result["power"] == "warming"
    state = await _until(driver, "power", "on")
    assert state["power"] == "on"
    assert emu.model.lamps[0].on


async def test_power_command_during_warm_up_reports_busy(make: Any) -> None:
    _, driver, _ = await make(model=ProjectorModel(warmup_s=30))
    await driver.execute(Command(action="power", args={"state": "on"}))
    with pytest.raises(DeviceReportedError) as err:
        await driver.execute(Command(action="power", args={"state": "off"}))
    assert err.value.reason is Reason.BUSY


async def test_input_by_configured_name_switches_the_projector(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(power="on"), input_names={"hdmi1": "32"})
    result = await driver.execute(Command(action="input", args={"source": "hdmi1"}))
    assert emu.model.input == "32"
    assert result["input"] == "hdmi1"


async def test_input_by_raw_code_switches_the_projector(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(power="on"))
    await driver.execute(Command(action="input", args={"source": "11"}))
    assert emu.model.input == "11"


async def test_input_the_projector_lacks_reports_invalid_argument(make: Any) -> None:
    _, driver, _ = await make(model=ProjectorModel(power="on"))
    with pytest.raises(InvalidArgument, match="digital9"):
        await driver.execute(Command(action="input", args={"source": "digital9"}))


async def test_input_change_while_in_standby_reports_busy(make: Any) -> None:
    _, driver, _ = await make()
    with pytest.raises(DeviceReportedError) as err:
        await driver.execute(Command(action="input", args={"source": "31"}))
    assert err.value.reason is Reason.BUSY


async def test_mute_on_blanks_picture_and_sound(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(power="on"))
    result = await driver.execute(Command(action="mute", args={"state": "on"}))
    assert result["mute"] == "on"
    assert (emu.model.mute.video, emu.model.mute.audio) == (True, True)


async def test_freeze_works_on_class2(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(power="on"))
    result = await driver.execute(Command(action="freeze", args={"state": "on"}))
    assert emu.model.freeze
    assert result["freeze"] == "on"


async def test_freeze_on_class1_projector_is_unsupported(make: Any) -> None:
    _, driver, _ = await make(model=ProjectorModel(power="on", pjclass=1))
    with pytest.raises(Unsupported, match="class 2"):
        await driver.execute(Command(action="freeze", args={"state": "on"}))


async def test_speaker_volume_steps_move_the_level(make: Any) -> None:
    emu, driver, _ = await make(model=ProjectorModel(power="on", speaker_volume=10))
    await driver.execute(Command(action="speaker_volume", args={"direction": "down", "steps": 3}))
    assert emu.model.speaker_volume == 7


async def test_every_lamp_reports_hours_as_a_reading(make: Any) -> None:
    lamps = [Lamp(hours=1500, on=True), Lamp(hours=20, on=True)]
    _, driver, ctx = await make(model=ProjectorModel(power="on", lamps=lamps))
    await driver.poll()
    assert ctx.readings == [("lamp_hours", 1500, "h"), ("lamp2_hours", 20, "h")]


async def test_projector_without_lamp_reports_no_lamp_hours(make: Any) -> None:
    _, driver, ctx = await make(model=ProjectorModel(power="on", lamps=[]))
    state = await driver.poll()
    assert state["lamp_hours"] is None
    assert ctx.readings == []


async def test_new_fault_emits_one_event_and_clearing_it_another(make: Any) -> None:
    emu, driver, ctx = await make(model=ProjectorModel(power="on"))
    await driver.poll()
    emu.model.set_errors(filter="warning")
    await driver.poll()
    await driver.poll()
    emu.model.set_errors(filter="ok")
    await driver.poll()
    assert ctx.events == [
        ("projector_fault", {"category": "filter", "level": "warning", "previous": "ok"}),
        ("projector_fault", {"category": "filter", "level": "ok", "previous": "warning"}),
    ]


async def test_a_reconnect_does_not_report_the_same_fault_again(make: Any) -> None:
    emu, driver, ctx = await make(model=ProjectorModel(power="on"))
    emu.model.set_errors(lamp="error")
    await driver.poll()
    await driver.stop()  # the supervisor restarts a session with a new driver instance
    config = PJLinkConfig.model_validate(
        {"id": "lobby", "driver": "pjlink", "host": "127.0.0.1", "port": emu.port}
    )
    again = PJLinkDriver(config, ctx)
    await again.start()
    try:
        await again.poll()
    finally:
        await again.stop()
    assert ctx.events == [
        ("projector_fault", {"category": "lamp", "level": "error", "previous": "ok"}),
    ]


async def test_probe_identifies_model_serial_firmware_and_inputs(make: Any) -> None:
    _, driver, _ = await make(input_names={"hdmi1": "31"})
    info = await driver.probe()
    assert (info["manufacturer"], info["model"], info["serial"], info["firmware"]) == (
        "EdgeSim",
        "PJ-EMU 2",
        "EMU0001",
        "1.0.0",
    )
    assert {"code": "31", "name": "hdmi1", "label": "HDMI 1"} in info["inputs"]


async def test_one_command_per_connection_projector_is_fully_usable(make: Any) -> None:
    emu, driver, _ = await make(
        model=ProjectorModel(power="on"), emu_kw={"persistent": False}, retries=0
    )
    state = await driver.poll()
    assert state["input"] == "digital1"
    assert emu.sessions > 5


async def test_session_dropped_for_idleness_is_reopened_without_error(make: Any) -> None:
    emu, driver, _ = await make(emu_kw={"idle_timeout_s": 0.5}, retries=0)
    await asyncio.sleep(1.5)
    state = await driver.poll()
    assert state["power"] == "off"
    assert emu.sessions == 2


async def test_forced_class1_never_sends_class2_commands(make: Any) -> None:
    _, driver, _ = await make(model=ProjectorModel(power="on"), pjlink_class=1)
    with pytest.raises(Unsupported):
        await driver.execute(Command(action="speaker_volume", args={"direction": "up"}))
    assert "freeze" not in await driver.poll()


async def test_driver_recovers_when_the_projector_comes_back(make: Any, loopback_port: int) -> None:
    emu, driver, _ = await make()
    await emu.stop()
    with pytest.raises(Unreachable):
        await driver.poll()
    again = PJLinkEmulator(port=loopback_port, udp_port=0, model=ProjectorModel(power="on"))
    await again.start()
    try:
        await driver.stop()
        await driver.start()
        assert (await driver.poll())["power"] == "on"
    finally:
        await again.stop()


async def test_emulator_from_config_listens_where_the_config_points(
    loopback_port: int, tmp_path: Path
) -> None:
    secret = tmp_path / "pjlink.pw"
    secret.write_text("s3cret\n")
    config = PJLinkConfig.model_validate(
        {
            "id": "wall",
            "driver": "pjlink",
            "host": "127.0.0.1",
            "port": loopback_port,
            "password_file": str(secret),
        }
    )
    emu = from_config(config)
    assert emu.port == loopback_port
    await emu.start()
    driver = PJLinkDriver(config, RecordingContext())
    try:
        await driver.start()
        assert (await driver.probe())["auth_required"] is True
        assert "127.0.0.1" in emu.describe()
    finally:
        await driver.stop()
        await emu.stop()
