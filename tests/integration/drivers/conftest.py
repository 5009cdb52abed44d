"""Fixtures for the driver integration suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.ble.codec import EddystoneTLM, EddystoneUID, IBeacon
from drivers.ble.emulator import BluezMockEmulator, EmulatedBeacon
from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk.pty import PtyPair
from tests.integration.drivers.ble_support import BADGE, TAG, UUID
from tests.integration.drivers.modbus_support import tcp_config


@pytest.fixture
async def ptys(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """(device side, host side) of a socat null-modem cable.

    Same shape as tests/conftest.py's fixture, but made by the PtyPair the serial emulators use,
    so every serial test also exercises it.
    """
    pair = PtyPair(tmp_path / "tty-host")
    await pair.start()
    yield str(pair.device_path), str(pair.host_path)
    await pair.stop()


@pytest.fixture
async def modbus_emulator(loopback_port: int) -> AsyncIterator[ModbusEmulator]:
    """Our Modbus TCP emulator with the three units of `tcp_config`, on a free loopback port."""
    emu = from_config(tcp_config(loopback_port))
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def bluez(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BluezMockEmulator]:
    """The two beacons of `ble_support.config()` (the tag with battery telemetry), advertising
    every 50 ms on a BlueZ stand-in that this test's process uses as its system bus."""
    emu = BluezMockEmulator(
        [
            EmulatedBeacon(BADGE, IBeacon(UUID, 7, 1, -59), rssi=-55),
            EmulatedBeacon(
                TAG,
                EddystoneUID("edd1ebeac04e5defa017", "0badc0ffee01", -20),
                rssi=-65,
                tlm=EddystoneTLM(battery_mv=2950, temperature_c=21.0, adv_count=5, uptime_s=60),
            ),
        ],
        interval_s=0.05,
    )
    await emu.start()
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", emu.bus_address)
    try:
        yield emu
    finally:
        await emu.stop()
