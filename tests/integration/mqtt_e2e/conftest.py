"""Fixtures: a real mosquitto per test, and HQ's paho subscriber that checks every payload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.uplink.hq import HQ, hq  # noqa: F401 - the shared fixture
from tests.integration.uplink.sysdeps import require_mosquitto
from tests.support.mosquitto import Mosquitto

require_mosquitto()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker", tls=False)
    b.start()
    try:
        yield b
    finally:
        b.close()
