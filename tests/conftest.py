"""Shared fixtures. Real peers live in tests/support; each suite's conftest adds its own
(tests/integration/drivers/conftest.py has the socat pty pair, built on drivers.sdk.pty)."""

from __future__ import annotations

import pytest

from tests.support.net import free_port


@pytest.fixture
def loopback_port() -> int:
    return free_port()
