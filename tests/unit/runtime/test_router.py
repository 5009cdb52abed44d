"""The one command path: idempotent, expiring, allow-listed, typed errors, audited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from drivers import registry
from drivers.sdk import Command
from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig
from edge_agent.commands import CommandErrorCode, CommandRequest
from edge_agent.runtime.router import Router
from edge_agent.runtime.supervisor import Supervisor
from edge_agent.settings.store import StoreSettings
from edge_agent.store import Store


class CountingDisplay(SimulatedDisplay):
    """A simulated display that counts how often it really acted, and acts slowly."""

    acted: ClassVar[list[str]] = []
    raw_bytes: ClassVar[bool] = False  # answer with bytes no audit row can hold

    async def execute(self, command: Command) -> Mapping[str, Any]:
        await asyncio.sleep(0.05)
        CountingDisplay.acted.append(command.action)
        result = await super().execute(command)
        return {**result, "raw": b"\xff\xfe"} if CountingDisplay.raw_bytes else result


@pytest.fixture
async def wired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Router, Store, Supervisor]]:
    monkeypatch.setitem(registry.BUILTIN, "simulated_display", f"{__name__}:CountingDisplay")
    CountingDisplay.acted.clear()
    CountingDisplay.raw_bytes = False
    store = Store(tmp_path / "db.sqlite", StoreSettings())
    await store.open()
    sup = Supervisor(submit=store.submit, on_state=lambda s: None, on_removed=lambda i: None)
    await sup.apply(
        [
            SimulatedDisplayConfig(id="screen", driver="simulated_display", poll_interval_s=0.2),
            SimulatedDisplayConfig(
                id="locked", driver="simulated_display", allowed_actions=["refresh"]
            ),
            SimulatedDisplayConfig(id="dead", driver="simulated_display", fault="raise"),
        ]
    )
    router = Router(sup, store, agent_actions={})
    for _ in range(100):
        if all(sup.get(i).status.online for i in ("screen", "locked")):  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    yield router, store, sup
    await sup.stop_all()
    await store.close()


def req(
    cid: str, action: str = "power", args: dict[str, Any] | None = None, **kw: Any
) -> CommandRequest:
    return CommandRequest(
        id=cid,
        device=kw.pop("device", "screen"),
        action=action,
        args={"state": "on"} if args is None else args,
        **kw,
    )


async def test_same_id_arriving_twice_at_once_acts_once(
    wired: tuple[Router, Store, Supervisor],
) -> None:
    router, store, _ = wired
    first, second = await asyncio.gather(router.execute(req("c-1")), router.execute(req("c-1")))
    assert CountingDisplay.acted == ["power"]
    assert first.ok and second.ok and {first.replayed, second.replayed} == {False, True}
    third = await router.execute(req("c-1"))
    assert third.replayed and third.result == first.result and CountingDisplay.acted == ["power"]
    assert len([a for a in await store.audit() if a.get("id", a.get("command_id")) == "c-1"]) == 1


async def test_expired_forbidden_unknown_and_bad_args_get_typed_errors(
    wired: tuple[Router, Store, Supervisor],
) -> None:
    router, _, _ = wired
    cases = {
        CommandErrorCode.EXPIRED: req("e1", expires_at=time.time() - 5, source="mqtt"),
        CommandErrorCode.FORBIDDEN: req("e2", device="locked", source="mqtt"),
        CommandErrorCode.UNKNOWN_DEVICE: req("e3", device="nope"),
        CommandErrorCode.UNKNOWN_ACTION: req("e4", action="explode", args={}),
        CommandErrorCode.INVALID_ARGUMENT: req("e5", action="volume", args={"level": 400}),
    }
    for code, request in cases.items():
        result = await router.execute(request)
        assert not result.ok and result.error is not None and result.error.code == code, (
            code,
            result,
        )
        if code is CommandErrorCode.EXPIRED:  # HQ can tell a fast gateway clock from a slow link
            assert result.error.message.endswith("s ago by the gateway's clock")
    assert CountingDisplay.acted == []


async def test_local_cli_is_not_bound_by_the_remote_allow_list(
    wired: tuple[Router, Store, Supervisor],
) -> None:
    router, _, _ = wired
    assert (await router.execute(req("l1", device="locked", source="cli"))).ok
    assert CountingDisplay.acted == ["power"]


async def test_offline_device_answers_device_offline_with_its_reason(
    wired: tuple[Router, Store, Supervisor],
) -> None:
    router, _, _ = wired
    result = await router.execute(req("o1", device="dead"))
    assert result.error is not None and result.error.code == CommandErrorCode.DEVICE_OFFLINE
    assert result.error.reason in {"timeout", "starting"}


async def test_a_result_no_audit_row_can_hold_does_not_block_the_audit_of_later_commands(
    wired: tuple[Router, Store, Supervisor],
) -> None:
    router, store, _ = wired
    CountingDisplay.raw_bytes = True
    await router.execute(req("odd-1"))
    CountingDisplay.raw_bytes = False
    for n in range(3):
        assert (await router.execute(req(f"ok-{n}"))).ok
    audited = {a.get("id", a.get("command_id")) for a in await store.audit()}
    assert {"ok-0", "ok-1", "ok-2"} <= audited
