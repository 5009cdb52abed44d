"""`config check` warns about what the config names and this PC lacks now (a recorded file, a
/dev/videoN, a serial port): FILE:LINE:COL like errors, marked `warning:`, exit 0 when they are
all. The loader, and so the daemon's start and reload, never looks for them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edge_agent.settings.errors import ConfigWarning
from edge_agent.settings.loader import load
from edge_agent.settings.local import local_warnings
from tests.support.daemon import CLI

AGENT = "agent: {branch_id: b-1, agent_id: a-1, data_dir: ./var}\n"
PROFILE = "units: [{name: m, unit_id: 1, profile: env_sensor}]"
NO_VIDEO = "/dev/video9876"
NO_TTY = "/dev/ttyUSB9876"

LOCAL = f"""\
{AGENT}devices:
  - {{id: screen, driver: samsung_mdc, serial: {{port: {NO_TTY}}}}}
  - {{id: meter, driver: modbus, transport: rtu, serial_port: {NO_TTY}, {PROFILE}}}
  - {{id: off, driver: samsung_mdc, enabled: false, serial: {{port: {NO_TTY}}}}}
  - {{id: tcp, driver: modbus, host: 192.0.2.1, serial_port: {NO_TTY}, {PROFILE}}}
  - {{id: url, driver: samsung_mdc, serial: {{port: "socket://192.0.2.1:4001"}}}}
  - {{id: here, driver: samsung_mdc, serial: {{port: tty-here}}}}
  - {{id: rel, driver: samsung_mdc, serial: {{port: tty-gone}}}}
  - {{id: lan, driver: samsung_mdc, host: 192.0.2.2}}
cameras:
  - {{id: usb, source: {NO_VIDEO}}}
  - {{id: rec, source: clips/lobby.mp4}}
  - {{id: kept, source: clips/door.mp4}}
  - {{id: net, source: "rtsp://192.0.2.10/stream1"}}
  - {{id: unused, enabled: false, source: clips/gone.mp4}}
"""


def local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str = LOCAL) -> Path:
    """The config in tmp/etc, with clips/door.mp4 beside it and ./tty-here in the working folder."""
    (tmp_path / "etc" / "clips").mkdir(parents=True)
    (tmp_path / "etc" / "clips" / "door.mp4").write_bytes(b"")
    (tmp_path / "tty-here").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "etc" / "edge.yaml"
    path.write_text(text)
    return path


def check(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`edge-agent config check PATH`, run from the working folder the test chose."""
    return subprocess.run(
        [*CLI, "config", "check", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_what_this_pc_lacks_is_warned_at_its_line_and_the_config_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = local_config(tmp_path, monkeypatch)
    load(path, environ={})  # the daemon starts and reloads with it
    warnings = local_warnings(path, environ={})
    assert all(isinstance(w, ConfigWarning) for w in warnings)
    found = [(w.line, w.col, w.message) for w in warnings]
    assert found == [
        (3, 48, f"devices.0.serial.port: serial port {NO_TTY} does not exist on this PC"),
        (4, 49, f"devices.1.serial_port: serial port {NO_TTY} does not exist on this PC"),
        (9, 45, "devices.6.serial.port: serial port tty-gone does not exist on this PC"),
        (12, 15, f"cameras.0.source: {NO_VIDEO} does not exist on this PC"),
        (
            13,
            15,
            f"cameras.1.source: no file or folder at {tmp_path / 'etc' / 'clips' / 'lobby.mp4'}",
        ),
    ]
    hints = [w.hint or "" for w in warnings]
    assert "ls -l /dev/ttyUSB*" in hints[0] and "reports unreachable" in hints[0]
    assert f"{tmp_path} for this check" in hints[2] and "/ under systemd" in hints[2]
    assert "ls -l /dev/video*" in hints[3] and "reports no_signal" in hints[3]
    assert "reports no_signal" in hints[4]
    assert str(warnings[0]).startswith(f"{path}:3:48: warning: devices.0.serial.port: ")


def test_config_check_prints_warnings_and_exits_0_when_there_are_only_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = local_config(tmp_path, monkeypatch)
    out = check(path)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3:48: warning: devices.0.serial.port: serial port ")
    assert f"{path}:12:15: warning: cameras.0.source: {NO_VIDEO} does not exist on this PC (" in (
        out.stderr
    )
    assert "5 warning(s)" in out.stdout and out.stdout.startswith("ok ")

    out = check(path, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] is True
    assert [(w["line"], w["col"]) for w in summary["warnings"]] == [
        (3, 48),
        (4, 49),
        (9, 45),
        (12, 15),
        (13, 15),
    ]
    assert set(summary["warnings"][0]) == {"file", "line", "col", "message", "hint"}


def test_config_check_with_errors_prints_warnings_among_them_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"{AGENT}cameras:\n  - {{id: usb, source: {NO_VIDEO}}}\n  - {{id: usb, source: x.mp4}}\n"
    path = local_config(tmp_path, monkeypatch, text)
    out = check(path)
    assert out.returncode == 3, out.stdout + out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3:15: warning: cameras.0.source: ")
    assert lines[1].startswith(f"{path}:4:6: cameras.1.id: duplicate camera id 'usb'")
    assert lines[2].startswith(f"{path}:4:15: warning: cameras.1.source: no file or folder at ")
    assert "1 problem(s), 2 warning(s)" in out.stderr

    out = check(path, "--json")
    assert out.returncode == 3
    report = json.loads(out.stdout)
    assert report["ok"] is False and len(report["errors"]) == 1 and len(report["warnings"]) == 2


def test_a_config_with_nothing_local_missing_has_no_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"{AGENT}cameras:\n  - {{id: door, source: clips/door.mp4}}\n"
    path = local_config(tmp_path, monkeypatch, text)
    assert local_warnings(path, environ={}) == []
    out = check(path, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["warnings"] == []
