"""A camera `source` the worker cannot open is refused by `config check`, not crash-looped at run time."""

from __future__ import annotations

import socket
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from edge_agent.settings.cameras import CameraSettings
from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load
from edge_agent.vision.rtsp_probe import probe_rtsp

AGENT = "agent: {branch_id: b-1, agent_id: a-1, data_dir: ./d}\n"


def load_camera(tmp_path: Path, source: str) -> CameraSettings:
    (tmp_path / "edge.yaml").write_text(AGENT + f"cameras:\n  - id: door\n    source: '{source}'\n")
    return load(tmp_path / "edge.yaml", environ={}).cameras[0]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("rtsp://cam:abc/", "port is not a number"),
        ("rtsp://[::1/", "not a usable URL"),
        ("rtsp://cam:99999/", "port is not a number from 0 to 65535"),
        ("rtsp://a..b/stream", "not a valid host name"),
        ("rtsp:///stream", "names no camera host"),
        ("ftp://cam/stream", "ftp:// is not a camera URL"),
        ("RTSP://cam/stream", "RTSP:// is not a camera URL"),
        ("", "is empty"),
    ],
)
def test_a_source_the_worker_cannot_open_is_a_located_config_error(
    tmp_path: Path, source: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_camera(tmp_path, source)
    (issue,) = info.value.issues
    assert issue.line == 4 and issue.message.startswith("cameras.0.source: "), issue
    assert words in issue.message, issue


def test_a_password_typed_where_the_port_goes_is_not_repeated_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_camera(tmp_path, "rtsp://admin:s3cret-pw/stream1")  # the host was forgotten
    assert "s3cret-pw" not in str(info.value)
    assert "port" in str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "rtsp://10.0.0.9:554/stream1",
        "rtsp://viewer:p%40ss@10.0.0.9/stream1?channel=1",
        "rtsps://cam.example/live",
        "http://192.0.2.5/video.mjpg",
        "https://cam.example:8443/stream",
        "rtsp://[::1]:8554/s",
        "/dev/video0",
        "/srv/recordings/clip.mp4",
    ],
)
def test_usable_sources_are_kept_as_written(tmp_path: Path, source: str) -> None:
    assert load_camera(tmp_path, source).source == source


def test_a_file_source_is_relative_to_the_config(tmp_path: Path) -> None:
    assert load_camera(tmp_path, "clips/walk.mp4").source == str(tmp_path / "clips/walk.mp4")


def test_an_accepted_url_of_a_dead_camera_gets_a_reason_from_the_probe() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = CameraSettings(id="c", source=f"rtsp://127.0.0.1:{port}/s").source
    assert probe_rtsp(source, timeout_s=0.2) == "no_signal"


def _refused(address: tuple[str, int], *_args: object, **_kwargs: object) -> socket.socket:
    """Like a connect to a closed port, after the socket layer's own check of the host name."""
    address[0].encode("idna")  # what getaddrinfo does to a name before any lookup
    raise ConnectionRefusedError


@settings(max_examples=200)
@given(
    scheme=st.sampled_from(["rtsp", "rtsps", "http", "https", "ftp", "Rtsp", ""]),
    user=st.sampled_from(["", "u@", "u:p@", "u:p@x@", ":@"]),
    host=st.sampled_from(["127.0.0.1", "[::1]", "[::1", "::1]", "a..b", "", "x" * 64, "cam"])
    | st.text(max_size=10),
    port=st.sampled_from(["", ":554", ":abc", ":99999", ":", ":-1", ":0"]),
    tail=st.sampled_from(["", "/", "/stream1", "/live@main", "?x=1", "#f"]),
)
def test_any_accepted_camera_url_can_be_probed_without_an_exception(
    scheme: str, user: str, host: str, port: str, tail: str
) -> None:
    try:
        cam = CameraSettings(id="c", source=f"{scheme}://{user}{host}{port}{tail}")
    except ValidationError:
        return
    with mock.patch("socket.create_connection", _refused):
        assert probe_rtsp(cam.source_with_credentials(), timeout_s=0.01) == "no_signal"


def test_checking_a_camera_config_loads_no_numpy_or_opencv() -> None:
    # `config check` runs before every start (ExecStartPre) and on engineers' laptops: it must not
    # need the vision stack, which it used to import to check `detector`, `faces` and `motion`.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from edge_agent.settings.cameras import CameraSettings\n"
        "CameraSettings.model_validate({'id': 'c', 'source': 'x.avi', 'detector': {'tiles': [2, 1]},"
        " 'faces': {}, 'motion': {'width': 100}})\n"
        "print(sorted(m for m in ('numpy', 'cv2') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
