"""Shared fixtures. Real peers live in tests/support; each suite's conftest adds its own
(tests/integration/drivers/conftest.py has the socat pty pair, built on drivers.sdk.pty)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support.net import free_port

# Examples that touch SQLite, sockets or a parser are judged on their result, not on a 200 ms
# deadline a busy CI machine can miss; tests that set their own settings keep them.
settings.register_profile("edge-agent", deadline=None, print_blob=True)
# CI (`.ci/run` sets CI=1) draws the same examples every run, so main stays green or red for a
# reason in the code; a developer's `make test` draws fresh ones and may find something new.
settings.register_profile("ci", parent=settings.get_profile("edge-agent"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "edge-agent")


@pytest.fixture
def loopback_port() -> int:
    return free_port()


@pytest.fixture
def taken_tcp() -> Iterator[int]:
    """A loopback TCP port another program is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])
