"""A camera's RTSP password lives in a file, like every other secret, never in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load

CONFIG = """\
agent: {branch_id: b-1, agent_id: a-1, data_dir: ./d}
cameras:
  - id: door
    source: rtsp://old@10.0.0.9:554/stream1
    credentials_file: door.secret
"""


def test_credentials_file_goes_into_the_url_only_when_opening_the_camera(tmp_path: Path) -> None:
    (tmp_path / "door.secret").write_text("viewer:p@ss word/1\n")
    (tmp_path / "edge.yaml").write_text(CONFIG)
    cam = load(tmp_path / "edge.yaml", environ={}).cameras[0]
    assert cam.source == "rtsp://old@10.0.0.9:554/stream1"  # what config show and logs carry
    assert cam.source_with_credentials() == "rtsp://viewer:p%40ss%20word%2F1@10.0.0.9:554/stream1"


def test_missing_credentials_file_is_a_located_config_error(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text(CONFIG)
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "edge.yaml", environ={})
    (issue,) = info.value.issues
    assert issue.line == 5 and "door.secret does not exist" in issue.message


def test_files_and_devices_ignore_credentials(tmp_path: Path) -> None:
    (tmp_path / "edge.yaml").write_text(
        "agent: {branch_id: b-1, agent_id: a-1, data_dir: ./d}\ncameras: [{id: c, source: /dev/video0}]\n"
    )
    assert (
        load(tmp_path / "edge.yaml", environ={}).cameras[0].source_with_credentials()
        == "/dev/video0"
    )
