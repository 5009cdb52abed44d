"""aiopjlink, an independent PJLink client, drives our emulator: proof that the emulator speaks
PJLink and not just whatever our own driver happens to expect."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiopjlink import PJLink
from aiopjlink.projector import (
    Errors,
    Lamp,
    PJLinkERR1,
    PJLinkERR2,
    PJLinkERR3,
    PJLinkPassword,
    PJLinkProjectorError,
    Power,
    Sources,
)

from drivers.pjlink.emulator import PJLinkEmulator
from drivers.pjlink.projector import ProjectorModel
from drivers.pjlink.values import Lamp as EmuLamp


@pytest.fixture
async def emu(loopback_port: int) -> AsyncIterator[PJLinkEmulator]:
    emulator = PJLinkEmulator(
        port=loopback_port, udp_port=0, password="JBMIAProjectorLink", model=ProjectorModel()
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


def _link(emu: PJLinkEmulator, password: str | None = "JBMIAProjectorLink") -> PJLink:
    return PJLink(address="127.0.0.1", port=emu.port, password=password, timeout=2)


async def test_aiopjlink_powers_the_projector_on_and_off(emu: PJLinkEmulator) -> None:
    async with _link(emu) as link:
        await link.power.turn_on()
        assert await link.power.get() == Power.State.ON
        await link.power.turn_off()
        assert await link.power.get() == Power.State.OFF


async def test_aiopjlink_sees_warm_up_state(emu: PJLinkEmulator) -> None:
    emu.model.warmup_s = 30
    async with _link(emu) as link:
        await link.power.turn_on()
        assert await link.power.get() == Power.State.WARMING
        with pytest.raises(PJLinkERR3):
            await link.sources.get()


async def test_aiopjlink_switches_input(emu: PJLinkEmulator) -> None:
    emu.model.power = "on"
    async with _link(emu) as link:
        await link.sources.set(Sources.Mode.DIGITAL, "2")
        assert await link.sources.get() == (Sources.Mode.DIGITAL, "2")
    assert emu.model.input == "32"


async def test_aiopjlink_gets_err2_for_an_input_that_does_not_exist(emu: PJLinkEmulator) -> None:
    emu.model.power = "on"
    async with _link(emu) as link:
        with pytest.raises(PJLinkERR2):
            await link.sources.set(Sources.Mode.STORAGE, "9")


async def test_aiopjlink_reads_error_status_and_lamps(emu: PJLinkEmulator) -> None:
    emu.model.set_errors(lamp="error", filter="warning")
    emu.model.lamps = [EmuLamp(hours=4000, on=False), EmuLamp(hours=12, on=False)]
    async with _link(emu) as link:
        errors = await link.errors.query()
        lamps = await link.lamps.status()
    assert errors[Errors.Category.LAMP] == Errors.Level.ERROR
    assert errors[Errors.Category.FILTER] == Errors.Level.WARN
    assert lamps == [(4000, Lamp.State.OFF), (12, Lamp.State.OFF)]


async def test_aiopjlink_reads_class2_information(emu: PJLinkEmulator) -> None:
    async with _link(emu) as link:
        table = await link.info.table()
        names = await link.sources.available_with_names()
    assert table["serial_number"] == "EMU0001"
    assert table["manufacturer_name"] == "EdgeSim"
    assert table["pjlink_class"].value == "2"
    assert (Sources.Mode.DIGITAL, "1", "HDMI 1") in names


async def test_aiopjlink_class2_command_on_class1_projector_gets_err1(
    emu: PJLinkEmulator,
) -> None:
    emu.model.pjclass = 1
    async with _link(emu) as link:
        with pytest.raises(PJLinkERR1):
            await link.info.serial_number()


async def test_aiopjlink_wrong_password_is_refused(emu: PJLinkEmulator) -> None:
    with pytest.raises(PJLinkPassword, match="authentication failed"):
        async with _link(emu, password="guess"):
            pass


async def test_aiopjlink_without_password_is_told_one_is_needed(emu: PJLinkEmulator) -> None:
    with pytest.raises(PJLinkPassword):
        async with _link(emu, password=None):
            pass


async def test_aiopjlink_connects_to_projector_without_auth(loopback_port: int) -> None:
    emulator = PJLinkEmulator(port=loopback_port, udp_port=0)
    await emulator.start()
    try:
        async with PJLink(address="127.0.0.1", port=emulator.port, timeout=2) as link:
            assert await link.power.get() == Power.State.OFF
    finally:
        await emulator.stop()


async def test_aiopjlink_reads_class2_signal_filter_and_replacement_parts(
    emu: PJLinkEmulator,
) -> None:
    emu.model.power = "on"
    async with _link(emu) as link:
        signal = await link.sources.resolution()
        recommended = await link.sources.recommended_resolution()
        filter_hours = await link.filter.hours()
        lamp_models = await link.lamps.replacement_models()
        filter_models = await link.filter.replacement_models()
    assert signal == (1920, 1080)
    assert recommended == (1920, 1200)
    assert filter_hours == 350
    assert lamp_models == ["EMU-LMP1"]
    assert filter_models == ["EMU-FLT1"]


async def test_aiopjlink_hears_no_signal_and_no_filter(emu: PJLinkEmulator) -> None:
    emu.model.power = "on"
    emu.model.signal = "-"
    emu.model.filter_hours = None
    async with _link(emu) as link:
        with pytest.raises(PJLinkProjectorError, match="no signal"):
            await link.sources.resolution()
        with pytest.raises(PJLinkERR1, match="no filter"):
            await link.filter.hours()
