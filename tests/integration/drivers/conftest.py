"""Fixtures for the driver integration suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from drivers.sdk.pty import PtyPair


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
