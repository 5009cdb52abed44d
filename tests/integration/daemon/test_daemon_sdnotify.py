"""Under systemd (Type=notify): the real daemon says READY, keeps the watchdog fed, says STOPPING."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from tests.support.daemon import Daemon


def test_daemon_notifies_ready_watchdog_status_and_stopping(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(1.0)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        "agent: {branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/c.sock}\n"
        "uplink: {enabled: false}\n"
        "devices: [{id: screen, driver: simulated_display, poll_interval_s: 0.5}]\n"
    )
    # WATCHDOG_USEC=2 s: systemd would expect a ping at least every 2 s; we ping every 1 s.
    d = Daemon(cfg, env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000"}).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum("WATCHDOG=1" in m for m in seen) < 3:
            try:
                seen.append(sock.recv(4096).decode())
            except TimeoutError:
                continue
        d.signal(signal.SIGTERM)
        assert d.wait(timeout=5) == 0
        while True:
            try:
                seen.append(sock.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                break
    finally:
        d.stop()
        sock.close()
    assert "READY=1" in seen
    pings = [m for m in seen if "WATCHDOG=1" in m]
    assert len(pings) >= 3, seen
    assert any("STATUS=" in m and "devices online" in m for m in pings)
    assert "STOPPING=1" in seen
    assert seen.index("READY=1") < seen.index("STOPPING=1")
