"""A command on a full disk: the device acts once, the caller gets the real answer, and a repeat
of the id is answered from memory instead of acting again.

Needs root (CAP_SYS_ADMIN) to mount the tmpfs; skipped with the reason otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from structlog.testing import capture_logs

from drivers import registry
from drivers.sdk import Command
from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig
from edge_agent.commands import CommandRequest
from edge_agent.runtime.router import Router
from edge_agent.runtime.supervisor import Supervisor
from edge_agent.settings.store import StoreSettings
from edge_agent.store import ItemClass, Store
from tests.fault.test_store_disk_full import fill, flush_until_recovered, submit_until_disk_full


class CountingDisplay(SimulatedDisplay):
    acted: ClassVar[list[str]] = []

    async def execute(self, command: Command) -> Mapping[str, Any]:
        CountingDisplay.acted.append(command.action)
        return await super().execute(command)


def power(cid: str) -> CommandRequest:
    return CommandRequest(id=cid, device="screen", action="power", args={"state": "on"})


async def test_a_command_on_a_full_disk_acts_once_and_answers_truly(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.BUILTIN, "simulated_display", f"{__name__}:CountingDisplay")
    CountingDisplay.acted.clear()
    store = Store(small_disk / "edge-agent.db", StoreSettings(commit_interval_ms=2))
    await store.open()
    sup = Supervisor(submit=store.submit, on_state=lambda s: None, on_removed=lambda i: None)
    try:
        await sup.apply([SimulatedDisplayConfig(id="screen", driver="simulated_display")])
        for _ in range(100):
            if sup.get("screen").status.online:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        router = Router(sup, store, agent_actions={})
        filler = fill(small_disk)
        await submit_until_disk_full(store, 0, [ItemClass.READING])

        with capture_logs() as logs:
            first = await router.execute(power("full-1"))
            again = await router.execute(power("full-1"))

        assert first.ok and not first.replayed, first
        assert again.ok and again.replayed and again.result == first.result
        assert CountingDisplay.acted == ["power"], "a redelivered id must not act twice"
        assert any(e["event"] == "command_audit_failed" for e in logs)

        filler.unlink()
        await flush_until_recovered(store)
        later = await router.execute(power("after-1"))
        assert later.ok and CountingDisplay.acted == ["power", "power"]
        audited: list[str] = []
        for _ in range(100):  # the held rows are written in the background
            audited = [a.get("id", a.get("command_id")) for a in await store.audit()]
            if "full-1" in audited:
                break
            await asyncio.sleep(0.02)
        assert "after-1" in audited, "the audit works again once there is space"
        assert "full-1" in audited, "and catches up with the command run while it was full"
        replay = await router.execute(power("full-1"))
        assert replay.replayed and CountingDisplay.acted == ["power", "power"]
    finally:
        await sup.stop_all()
        await store.close()
