"""systemd hears READY, STATUS and WATCHDOG from us over a real datagram socket."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edge_agent.runtime.sdnotify import notify, watchdog_interval_s


def test_notify_reaches_the_notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        assert notify("WATCHDOG=1\nSTATUS=2/3 devices online")
        assert sock.recv(1024) == b"READY=1"
        assert sock.recv(1024) == b"WATCHDOG=1\nSTATUS=2/3 devices online"


def test_notify_is_a_no_op_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_watchdog_pings_twice_per_watchdog_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval_s(5.0) == 15.0
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval_s(5.0) == 5.0
