"""A device whose secret file is not text reports auth_failed naming the file, not `crashed`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.pjlink.config import PJLinkConfig
from drivers.pjlink.driver import PJLinkDriver
from drivers.sdk import AuthFailed, Reason
from edge_agent import logging as agent_logging
from edge_agent.runtime.device import DeviceContext, DeviceRunner


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=40))
def test_device_context_reads_any_secret_bytes_as_text_or_auth_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blob: bytes
) -> None:
    # Every secret read is masked in all later logs: keep this test's out of other tests' way.
    monkeypatch.setattr(agent_logging, "_known_secrets", set())
    path = tmp_path / "kiosk.token"
    path.write_bytes(b"token-" + blob)
    ctx = DeviceContext("kiosk", submit=lambda _i: None, clock=lambda: 0.0)
    try:
        assert ctx.read_secret(path) == (b"token-" + blob).decode("utf-8").strip()
    except AuthFailed as exc:
        assert str(path) in exc.message and "token-" not in exc.message


async def test_projector_with_a_binary_password_file_is_auth_failed_not_crashed(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "projector.pass"
    secret.write_bytes(b"s3cret\xff\xfe\n")
    config = PJLinkConfig.model_validate(
        {"id": "lobby", "driver": "pjlink", "host": "127.0.0.1", "password_file": str(secret)}
    )
    runner = DeviceRunner(config, PJLinkDriver, submit=lambda _i: None, on_state=lambda _s: None)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(runner.run())
        async with asyncio.timeout(5):
            while runner.status.reason is Reason.STARTING:
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert runner.status.reason is Reason.AUTH_FAILED
    assert str(secret) in (runner.status.detail or "")
    events: list[MutableMapping[str, Any]] = logs
    assert "device_crashed" not in [e["event"] for e in events]
    assert "s3cret" not in json.dumps(events, default=str)
