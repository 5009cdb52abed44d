"""Fixtures: a real mosquitto, HQ's subscriber, and captured log lines (wiring is in wiring.py)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.integration.uplink.hq import HQ, hq  # noqa: F401 - the shared fixture
from tests.integration.uplink.sysdeps import require_mosquitto
from tests.support.mosquitto import Mosquitto

require_mosquitto()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured
