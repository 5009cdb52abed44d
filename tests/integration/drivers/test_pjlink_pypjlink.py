"""pypjlink (the `pypjlink2` package, Home Assistant's PJLink client) drives our emulator.

It reads the greeting by fixed widths (an 8-character nonce, then CR) and parses class 1 answers
strictly, so it catches slips that the more forgiving aiopjlink lets through. It is synchronous:
each call runs in a worker thread while the emulator serves on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pypjlink import MUTE_VIDEO, Projector

from drivers.pjlink.emulator import PJLinkEmulator
from drivers.pjlink.projector import ProjectorModel

PASSWORD = "JBMIAProjectorLink"


@pytest.fixture
async def emu(loopback_port: int) -> AsyncIterator[PJLinkEmulator]:
    emulator = PJLinkEmulator(port=loopback_port, udp_port=0, password=PASSWORD)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def _session(port: int, password: str | None, work: Callable[[Projector], Any]) -> Any:
    def run() -> Any:
        with Projector.from_address("127.0.0.1", port, timeout=2) as projector:
            if projector.authenticate(password) is False:
                return "refused"
            return work(projector)

    return await asyncio.wait_for(asyncio.to_thread(run), timeout=10)


async def test_pypjlink_logs_in_and_runs_the_projector(emu: PJLinkEmulator) -> None:
    def work(p: Projector) -> tuple[Any, ...]:
        p.set_power("on")
        p.set_input("DIGITAL", 2)
        p.set_mute(MUTE_VIDEO, True)
        return p.get_power(), p.get_input(), p.get_mute(), p.get_lamps(), p.get_errors()

    power, source, mute, lamps, errors = await _session(emu.port, PASSWORD, work)
    assert power == "on"
    assert source == ("DIGITAL", 2)
    assert mute == (True, False)
    assert lamps == [(1200, True)]
    assert set(errors.values()) == {"ok"}
    assert emu.model.input == "32"


async def test_pypjlink_class1_input_list_holds_only_class1_inputs(emu: PJLinkEmulator) -> None:
    emu.model.inputs += ["61", "3A"]  # internal and a lettered input: class 2 only
    inputs = await _session(emu.port, PASSWORD, lambda p: p.get_inputs())
    assert ("DIGITAL", 2) in inputs
    assert all(number in range(1, 10) for _, number in inputs)


async def test_pypjlink_wrong_password_is_refused(emu: PJLinkEmulator) -> None:
    assert await _session(emu.port, "guess", lambda p: p.get_power()) == "refused"


async def test_pypjlink_reads_a_projector_without_auth(loopback_port: int) -> None:
    emulator = PJLinkEmulator(port=loopback_port, udp_port=0, model=ProjectorModel(power="on"))
    await emulator.start()
    try:
        names = await _session(
            emulator.port, None, lambda p: (p.get_name(), p.get_manufacturer(), p.get_power())
        )
    finally:
        await emulator.stop()
    assert names == ("lobby-projector", "EdgeSim", "on")
