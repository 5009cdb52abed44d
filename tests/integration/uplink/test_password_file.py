"""A broker password file that is not text, or not there: `auth_failed` naming the file, no crash
loop, and fixing the file reconnects without restarting the agent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from tests.integration.uplink.wiring import make_settings, running_uplink
from tests.support.mosquitto import AGENT_PASSWORD, Mosquitto


async def test_password_file_with_bad_bytes_is_auth_failed_and_fixing_it_reconnects(
    broker: Mosquitto, tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    settings = make_settings(broker, tmp_path)
    password_file = settings.uplink.mqtt.password_file
    assert password_file is not None
    password_file.write_bytes(AGENT_PASSWORD.encode() + b"\xff\xfe\n")
    async with running_uplink(settings) as run:
        async with asyncio.timeout(10):
            while run.uplink.status()["last_error"] is None:
                await asyncio.sleep(0.02)
        password_file.write_text(AGENT_PASSWORD + "\n")
        await run.wait_connected()
    assert "uplink_session_crashed" not in [e["event"] for e in logs]
    down = next(e for e in logs if e["event"] == "uplink_disconnected")
    assert str(password_file) in down["error"] and "not UTF-8" in down["error"]
    assert down["reason"] == "auth_failed"  # what the field guide says to check: the credentials
    assert AGENT_PASSWORD not in json.dumps(logs, default=str)


async def test_a_missing_password_file_is_auth_failed_naming_it_in_status(
    broker: Mosquitto, tmp_path: Path
) -> None:
    settings = make_settings(broker, tmp_path)
    password_file = settings.uplink.mqtt.password_file
    assert password_file is not None
    password_file.unlink()
    async with running_uplink(settings) as run:
        async with asyncio.timeout(10):
            while run.uplink.status()["last_error"] is None:
                await asyncio.sleep(0.02)
        status = run.uplink.status()
        assert status["last_error"] == "auth_failed"
        assert str(password_file) in status["last_error_detail"]
        password_file.write_text(AGENT_PASSWORD + "\n")
        await run.wait_connected()
