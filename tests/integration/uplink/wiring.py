"""The uplink wired to the daemon's real parts, in the test's own event loop.

The uplink runs on the real SQLite `Store` (in tmp_path, with a clock that can be set back to
date a backlog), the real `Router` and the real `Supervisor` running `simulated_display`
devices, wired the way `edge_agent.runtime.app.Agent` wires them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from edge_agent.commands import CommandRequest, CommandResult
from edge_agent.runtime.device import DeviceStatus
from edge_agent.runtime.router import Router
from edge_agent.runtime.supervisor import Supervisor
from edge_agent.settings.root import Settings
from edge_agent.settings.store import StoreSettings
from edge_agent.store import DB_FILENAME, ItemClass, NewItem, Store, StoredItem
from edge_agent.store.items import DEVICE_TOMBSTONE
from edge_agent.uplink import Uplink
from tests.support.mosquitto import AGENT_PASSWORD, AGENT_USER

ROOT = "edge/v1/wf-001/ipc-1"
#: Two screens as a branch has them: one takes any remote action, the kiosk only `power`.
DISPLAYS: list[dict[str, Any]] = [
    {"id": "lobby-display", "driver": "simulated_display", "poll_interval_s": 0.2},
    {"id": "kiosk", "driver": "simulated_display", "poll_interval_s": 0.2, "allowed_actions": ["power"]},
]  # fmt: skip


def make_settings(
    broker: Any, tmp_path: Path, *, devices: Sequence[dict[str, Any]] = (), **uplink: Any
) -> Settings:
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
            "devices": list(devices),
        }
    )


class Clock:
    """Wall clock that can be set back, so items are accepted 'an hour ago' (a real outage)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def events(
    n: int, *, kind: str = "footfall", cls: ItemClass = ItemClass.EVENT, pad: int = 40
) -> list[NewItem]:
    now = time.time()
    return [
        NewItem(cls=cls, kind=kind, device="cam-1", ts=now, data={"n": i, "pad": "x" * pad})
        for i in range(n)
    ]


class Branch:
    """The real store with its settable clock; what a test puts in is accepted there."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    async def put(self, items: Sequence[NewItem], *, age_s: float = 0.0) -> list[StoredItem]:
        """Commit `items` as accepted `age_s` ago. Put old items first: accepted_at never
        decreases with seq (the store clamps it)."""
        self.clock.offset = -age_s
        try:
            return await self.store.put(items)
        finally:
            self.clock.offset = 0.0

    async def depth(self) -> int:
        return (await self.store.stats()).depth

    async def depth_below(self, n: int) -> bool:
        return await self.depth() < n


@contextlib.asynccontextmanager
async def open_branch(settings: Settings) -> AsyncIterator[Branch]:
    clock = Clock()
    store = Store(settings.agent.data_dir / DB_FILENAME, StoreSettings(), clock=clock)
    await store.open()
    try:
        yield Branch(store, clock)
    finally:
        await store.close()


class Running:
    """An Uplink running in the test's loop, with the real store, router and supervisor."""

    def __init__(
        self, uplink: Uplink, branch: Branch, router: Router, supervisor: Supervisor
    ) -> None:
        self.uplink, self.branch, self.router, self.supervisor = uplink, branch, router, supervisor
        self.store = branch.store
        self.task: asyncio.Task[None] | None = None

    async def wait_connected(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.uplink.status()["connected"]:
                await asyncio.sleep(0.02)

    async def cli(self, device: str, action: str, **args: Any) -> CommandResult:
        """A command as the local CLI sends it (new id, no allow-list), straight to the router."""
        request = CommandRequest(
            id=f"cli-{time.monotonic_ns()}", device=device, action=action, args=args, source="cli"
        )
        return await self.router.execute(request)


async def wait_until(pred: Callable[[], Any], timeout: float = 20.0) -> None:
    """Poll `pred` (sync or async) until it is truthy; bounded in time."""
    async with asyncio.timeout(timeout):
        while True:
            value = pred()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_uplink(
    settings: Settings, branch: Branch | None = None
) -> AsyncIterator[Running]:
    """Store (opened here unless given), supervisor with `settings.devices`, router, uplink."""
    async with contextlib.AsyncExitStack() as stack:
        if branch is None:
            branch = await stack.enter_async_context(open_branch(settings))
        store = branch.store
        uplink_box: list[Uplink] = []
        pending: set[asyncio.Task[None]] = set()

        def spawn(coro: Any, name: str) -> None:
            task = asyncio.get_running_loop().create_task(coro, name=name)
            pending.add(task)
            task.add_done_callback(pending.discard)

        def on_state(status: DeviceStatus) -> None:  # as Agent._device_state does
            payload = status.payload(time.time())
            spawn(store.save_device_state(status.id, payload), f"device[{status.id}].save_state")
            if uplink_box:
                uplink_box[0].device_state_changed(status.id, payload)

        def on_removed(device_id: str) -> None:
            spawn(
                store.save_device_state(device_id, dict(DEVICE_TOMBSTONE)),
                f"device[{device_id}].forget",
            )
            if uplink_box:
                uplink_box[0].device_removed(device_id)

        async def ping(_args: dict[str, Any]) -> dict[str, Any]:
            return {"pong": True}

        async def reload(_args: dict[str, Any] | None = None) -> dict[str, Any]:
            return {"reloaded": True}

        supervisor = Supervisor(submit=store.submit, on_state=on_state, on_removed=on_removed)
        router = Router(supervisor, store, agent_actions={"ping": ping, "reload": reload})
        uplink = Uplink(
            settings, store, router,
            health=lambda: {
                "subsystems": {"store": {"state": "ok", "reason": store.health_reason()}},
                "devices": {}, "cameras": {},
            },
            config_hash="cfg-123", version="0.1.0-test",
        )  # fmt: skip
        uplink_box.append(uplink)
        run = Running(uplink, branch, router, supervisor)
        await supervisor.apply(settings.devices)
        run.task = asyncio.create_task(uplink.run(), name="test.uplink")
        try:
            await wait_until(lambda: all(r.status.online for r in supervisor.runners()), 10)
            yield run
        finally:
            await uplink.stop()
            run.task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)
            await supervisor.stop_all()
            await asyncio.gather(*pending, return_exceptions=True)
