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
    log.info("auth_attempt", password="hunter2-pjlink", token="abc123", password_file="/etc/x.secret")
    log.warning("device_error", detail="login failed for hunter2-pjlink at 10.0.0.5")
    log.info("frame", data=b"\xff\xd8\xff\xe0" + b"x" * 5000)
    log.info("nested", extra={"api_key": "k-999", "host": "a"})
    text = out.getvalue()
    assert "hunter2-pjlink" not in text and "abc123" not in text and "k-999" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["password_file"] == "/etc/x.secret"  # a path is not a secret and helps debugging
    assert lines[1]["detail"] == "login failed for *** at 10.0.0.5"
    assert lines[2]["data"] == "<5004 bytes>"
    assert lines[3]["extra"] == {"api_key": "***", "host": "a"}
    assert [line["event"] for line in lines] == ["auth_attempt", "device_error", "frame", "nested"]
