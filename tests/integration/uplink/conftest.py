"""Fixtures: a real mosquitto, an HQ subscriber, and an Uplink wired to stand-ins."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from edge_agent.settings.root import Settings
from edge_agent.uplink import Uplink
from tests.integration.uplink.hq import HQ
from tests.integration.uplink.standins import DisplayRouter, MemoryStore
from tests.support.mosquitto import AGENT_PASSWORD, AGENT_USER, Mosquitto, tools_available

if not tools_available():
    pytest.skip("mosquitto, mosquitto-clients and openssl are needed", allow_module_level=True)

ROOT = "edge/v1/wf-001/ipc-1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def hq(broker: Mosquitto) -> Iterator[HQ]:
    sub = HQ(broker.port)
    try:
        yield sub
    finally:
        sub.close()
    assert sub.validate_all() >= 0  # every payload HQ saw matches docs/schemas


def make_settings(broker: Mosquitto, tmp_path: Path, **uplink: Any) -> Settings:
    pw = tmp_path / "mqtt.pw"
    pw.write_text(AGENT_PASSWORD + "\n")
    mqtt = {
        "host": "127.0.0.1",
        "port": broker.port,
        "username": AGENT_USER,
        "password_file": str(pw),
    }
    mqtt.update(uplink.pop("mqtt", {}))
    return Settings.model_validate(
        {
            "agent": {"branch_id": "wf-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)},
            "uplink": {"mqtt": mqtt, **uplink},
        }
    )


class Running:
    """An Uplink running in the test's loop, with its store, router and captured log lines."""

    def __init__(self, uplink: Uplink, store: MemoryStore, router: DisplayRouter) -> None:
        self.uplink, self.store, self.router = uplink, store, router
        self.task: asyncio.Task[None] | None = None

    async def wait_connected(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.uplink.status()["connected"]:
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_uplink(
    settings: Settings, store: MemoryStore | None = None, router: DisplayRouter | None = None
) -> AsyncIterator[Running]:
    store = store or MemoryStore()
    router = router or DisplayRouter({"lobby-display": None, "kiosk": ["power"]})

    async def reload() -> dict[str, Any]:
        return {"reloaded": True}

    uplink = Uplink(
        settings, store, router,
        health=lambda: {"subsystems": {"store": {"state": "ok", "reason": "ok"}}, "devices": {}, "cameras": {}},
        on_reload=reload, config_hash="cfg-123", version="0.1.0-test",
    )  # fmt: skip
    run = Running(uplink, store, router)
    run.task = asyncio.create_task(uplink.run(), name="test.uplink")
    try:
        yield run
    finally:
        await uplink.stop()
        run.task.cancel()
        await asyncio.gather(run.task, return_exceptions=True)


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured
