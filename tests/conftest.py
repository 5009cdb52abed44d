"""Shared fixtures. Real peers live in tests/support; each suite's conftest adds its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port, pty_pair


@pytest.fixture
def loopback_port() -> int:
    return free_port()


@pytest.fixture
def ptys(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with pty_pair(tmp_path) as pair:
        yield pair
