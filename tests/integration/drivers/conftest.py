"""Fixtures for the driver integration suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk.pty import PtyPair
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
