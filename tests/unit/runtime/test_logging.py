"""No secret reaches a log line: by field name, by value inside messages, and no raw bytes."""

from __future__ import annotations

import io
import json

import structlog

from edge_agent.logging import configure, register_secret


def test_secrets_never_appear_in_log_lines() -> None:
    out = io.StringIO()
    configure("debug", stream=out, json=True)
    register_secret("hunter2-pjlink")
    log = structlog.get_logger("t")
    log.info(
        "auth_attempt", password="hunter2-pjlink", token="abc123", password_file="/etc/x.secret"
    )
    log.warning("device_error", detail="login failed for hunter2-pjlink at 10.0.0.5")
    log.info("frame", data=b"\xff\xd8\xff\xe0" + b"x" * 5000)
    log.info("nested", extra={"api_key": "k-999", "host": "a"})
    text = out.getvalue()
    assert "hunter2-pjlink" not in text and "abc123" not in text and "k-999" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert (
        lines[0]["password_file"] == "/etc/x.secret"
    )  # a path is not a secret and helps debugging
    assert lines[1]["detail"] == "login failed for *** at 10.0.0.5"
    assert lines[2]["data"] == "<5004 bytes>"
    assert lines[3]["extra"] == {"api_key": "***", "host": "a"}
    assert [line["event"] for line in lines] == ["auth_attempt", "device_error", "frame", "nested"]


def test_camera_url_passwords_are_masked_in_logs_and_config_show(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.daemon import cli

    out = io.StringIO()
    configure("info", stream=out, json=True)
    structlog.get_logger("t").warning(
        "camera_no_signal", source="rtsp://viewer:Cam3ra!pass@10.0.0.9:554/s1"
    )
    assert "Cam3ra!pass" not in out.getvalue()
    assert "rtsp://viewer:***@10.0.0.9:554/s1" in out.getvalue()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "agent: {branch_id: b, agent_id: a, data_dir: ./d}\n"
        "devices: [{id: k, driver: kiosk, base_url: 'http://10.0.0.5:8080'}]\n"
        "cameras: [{id: door, source: 'rtsp://viewer:Cam3ra!pass@10.0.0.9/s1'}]\n"
    )
    shown = cli("config", "show", str(cfg), "--json")
    assert shown.returncode == 0, shown.stderr
    assert "Cam3ra!pass" not in shown.stdout
    data = json.loads(shown.stdout)
    assert (
        data["devices"][0]["base_url"] == "http://10.0.0.5:8080"
    )  # a URL without a password stays whole
    assert data["cameras"][0]["source"] == "rtsp://viewer:***@10.0.0.9/s1"
    assert data["cameras"][0]["id"] == "door"
