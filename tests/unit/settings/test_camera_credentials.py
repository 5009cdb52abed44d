"""A camera's RTSP password lives in a file, like every other secret, never in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.settings.cameras import CameraSettings, CredentialsError
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


def test_credentials_file_that_is_not_text_is_a_located_config_error(tmp_path: Path) -> None:
    (tmp_path / "door.secret").write_bytes(b"viewer:p\xe4ss\n")  # saved as Latin-1
    (tmp_path / "edge.yaml").write_text(CONFIG)
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "edge.yaml", environ={})
    (issue,) = info.value.issues
    assert issue.line == 5 and "door.secret is not UTF-8 text" in issue.message


def test_opening_the_camera_with_credentials_that_are_not_text_names_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "door.secret").write_bytes(b"viewer:p\xe4ss\n")
    cam = CameraSettings(
        id="door", source="rtsp://10.0.0.9/s", credentials_file=tmp_path / "door.secret"
    )
    with pytest.raises(
        CredentialsError, match=r"door\.secret is not UTF-8 text \(invalid byte at offset 8\)"
    ) as info:
        cam.source_with_credentials()
    assert info.value.__context__ is None, "the decode error, which holds the password, is gone"


def test_an_at_sign_in_the_url_path_is_not_taken_for_the_user(tmp_path: Path) -> None:
    (tmp_path / "door.secret").write_text("viewer:pw\n")
    cam = CameraSettings(
        id="door", source="rtsp://10.0.0.9/live@main", credentials_file=tmp_path / "door.secret"
    )
    assert cam.source_with_credentials() == "rtsp://viewer:pw@10.0.0.9/live@main"
