"""The stop's MQTT goodbye within the 5 s stop, and what the agent's own health counts as a fault."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.app import UPLINK_GOODBYE_S, Agent
from edge_agent.settings.root import Settings


class Goodbye:
    """Stands in for the uplink and the control socket: records the budget it was given."""

    def __init__(self) -> None:
        self.budgets: list[float | None] = []

    async def stop(self, budget_s: float | None = None) -> None:
        self.budgets.append(budget_s)


@pytest.mark.parametrize(("configured", "given"), [(0.5, 0.5), (3.0, UPLINK_GOODBYE_S)])
async def test_the_goodbye_takes_the_configured_budget_up_to_the_cap(
    tmp_path: Path, configured: float, given: float
) -> None:
    settings = Settings.model_validate(
        {
            "agent": {"branch_id": "t-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)},
            "uplink": {"stop_timeout_s": configured},
        }
    )
    agent = Agent(tmp_path / "edge.yaml", settings)
    uplink: Any = Goodbye()
    agent.uplink = uplink
    await agent._shutdown(Goodbye())
    assert uplink.budgets == [given]


async def test_a_device_switched_off_in_the_config_does_not_make_health_degraded(
    tmp_path: Path,
) -> None:
    # `enabled: false` is the engineer's choice, not a fault: HQ must not alarm on it for ever.
    settings = Settings.model_validate(
        {
            "agent": {"branch_id": "t-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)},
            "devices": [
                {"id": "screen", "driver": "simulated_display", "poll_interval_s": 0.2},
                {"id": "spare", "driver": "simulated_display", "enabled": False},
            ],
        }
    )
    agent = Agent(tmp_path / "edge.yaml", settings)
    await agent.supervisor.apply(settings.devices)
    try:
        for _ in range(200):
            if agent.health()["devices"]["screen"]["online"]:
                break
            await asyncio.sleep(0.02)
        devices = agent.health()["subsystems"]["devices"]
        assert devices == {
            "state": "ok",
            "reason": "ok",
            "online": 1,
            "total": 1,
            "disabled": 1,
        }
    finally:
        await agent.supervisor.stop_all()


async def test_a_failure_while_starting_is_a_startup_error_after_a_clean_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It escaped as an ExceptionGroup traceback, with the socket file left and the store open.
    from edge_agent.runtime.app import StartupError
    from edge_agent.store import Store, StoreError
    from edge_agent.store.errors import StoreErrorReason

    agent = standalone(tmp_path)
    settings = agent.settings

    async def broken_disk() -> None:
        raise StoreError(StoreErrorReason.IO_ERROR, "disk I/O error")

    monkeypatch.setattr(agent, "_forget_stale_devices", broken_disk)
    with pytest.raises(StartupError, match="disk I/O error"):
        await asyncio.wait_for(agent.run(), 10)
    assert not (tmp_path / "run" / "c.sock").exists(), "the control socket is gone"
    again = Store(tmp_path / "data" / "edge-agent.db", settings.store)
    await again.open()  # the store was closed: its lock is free
    await again.close()


async def test_a_failure_of_the_config_warnings_is_logged_and_the_daemon_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    from edge_agent.runtime import app

    agent = standalone(tmp_path)

    def unreadable(_path: Path) -> list[Any]:
        raise PermissionError(13, "Permission denied")  # the file became unreadable after load

    monkeypatch.setattr(app, "local_warnings", unreadable)
    with capture_logs() as logs:
        running = asyncio.create_task(agent.run())
        for _ in range(500):
            if any(e["event"] == "task_crashed" for e in logs):
                break
            await asyncio.sleep(0.01)
        assert not running.done(), "still running after the warnings failed"
        agent._stop.set()
        assert await asyncio.wait_for(running, 10) == 0
    crashed = [e for e in logs if e["event"] == "task_crashed"]
    assert [e["task"] for e in crashed] == ["config_warnings"]
    assert any(e["event"] == "agent_started" for e in logs)


def standalone(tmp_path: Path) -> Agent:
    """An agent of its own under `tmp_path`: store, control socket, no uplink, no devices."""
    settings = Settings.model_validate(
        {
            "agent": {
                "branch_id": "t-001",
                "agent_id": "ipc-1",
                "data_dir": str(tmp_path / "data"),
                "control_socket": str(tmp_path / "run" / "c.sock"),
            },
            "uplink": {"enabled": False},
        }
    )
    return Agent(tmp_path / "edge.yaml", settings)
