"""The shipped unit is one systemd accepts, and it asks for what the daemon relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
UNIT = REPO / "systemd" / "edge-agent.service"


def test_unit_is_notify_with_watchdog_restart_and_own_user() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["WatchdogSec"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == "edge-agent"
    assert service["StateDirectory"] == "edge-agent" and service["RuntimeDirectory"] == "edge-agent"
    assert "edge-agent run --config" in service["ExecStart"]
    assert service["ExecReload"].endswith("kill -HUP $MAINPID")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # Point the unit at this checkout's venv so verify can check the binaries exist.
    unit = tmp_path / "edge-agent.service"
    unit.write_text(UNIT.read_text().replace("/opt/edge-agent", str(REPO)))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "edge-agent.service" not in out.stderr, out.stderr
