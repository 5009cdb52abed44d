"""Finding the daemon's socket from a config an engineer is halfway through editing."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.cli.common import socket_path

BROKEN = "devices:\n  - id: x\n   bad: indent\n"  # YAML that does not parse


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("agent: {branch_id: b, agent_id: a, control_socket: ./run/c.sock}\n", "run/c.sock"),
        ("# control_socket: /run/old.sock\nagent:\n  control_socket: ./run/c.sock\n", "run/c.sock"),
        ('agent:\n  control_socket: "./my run/c.sock"  # spaces, quoted\n', "my run/c.sock"),
        ("agent:\n  # control_socket: /nope\n", "/run/edge-agent/control.sock"),
        ("agent:\n  control_socket:\n  branch_id: b\n", "/run/edge-agent/control.sock"),
    ],
)
def test_a_config_that_does_not_parse_still_gives_its_socket(
    tmp_path: Path, head: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(head + BROKEN)
    found = socket_path(cfg, None)
    want = Path(expected) if expected.startswith("/") else tmp_path / expected
    assert found == want
    assert "edge.yaml:" in capsys.readouterr().err, "the broken line is named"


def test_a_missing_config_is_said_not_taken_for_a_dead_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = socket_path(tmp_path / "edge.yml", None)
    assert found == Path("/run/edge-agent/control.sock")
    assert "cannot read" in capsys.readouterr().err


def test_a_config_that_never_ends_is_read_no_further_than_the_size_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert socket_path(Path("/dev/zero"), None) == Path("/run/edge-agent/control.sock")
    assert "larger than the 1 MiB" in capsys.readouterr().err
