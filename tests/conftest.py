"""Shared fixtures. Real peers live in tests/support; each suite's conftest adds its own
(tests/integration/drivers/conftest.py has the socat pty pair, built on drivers.sdk.pty)."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.support.net import free_port

# Examples that touch SQLite, sockets or a parser are judged on their result, not on a 200 ms
# deadline a busy CI machine can miss; tests that set their own settings keep them.
settings.register_profile("edge-agent", deadline=None)
settings.load_profile("edge-agent")


@pytest.fixture
def loopback_port() -> int:
    return free_port()
