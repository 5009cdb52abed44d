"""Keeps one named task per device and applies config changes device by device."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from drivers import registry
from drivers.sdk import DeviceConfig

from ..aio import cancel_and_wait
from ..store.items import NewItem
from .device import DeviceRunner, DeviceStatus

log = structlog.get_logger("edge_agent.supervisor")

TASK_STOP_S = 3.0  # a stopped device's task gets this long to close its connection


class Supervisor:
    """Devices come and go through `apply`; a crash in one never reaches the others."""

    def __init__(
        self,
        *,
        submit: Callable[[NewItem], None],
        on_state: Callable[[DeviceStatus], None],
        on_removed: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]] | None = None,
    ) -> None:
        self._submit = submit
        self._on_state = on_state
        self._on_removed = on_removed
        self._clock = clock
        self._spawn = spawn or (
            lambda coro, name: asyncio.get_running_loop().create_task(coro, name=name)
        )
        self._runners: dict[str, DeviceRunner] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def get(self, device_id: str) -> DeviceRunner | None:
        return self._runners.get(device_id)

    def runners(self) -> list[DeviceRunner]:
        return list(self._runners.values())

    def _start(self, config: DeviceConfig) -> None:
        driver_cls = registry.load(str(config.driver))
        runner = DeviceRunner(
            config, driver_cls, submit=self._submit, on_state=self._on_state, clock=self._clock
        )
        self._runners[config.id] = runner
        self._tasks[config.id] = self._spawn(runner.run(), f"device[{config.id}]")

    async def _stop(self, device_id: str) -> None:
        task = self._tasks.pop(device_id, None)
        self._runners.pop(device_id, None)
        if task is not None:
            await cancel_and_wait(task, TASK_STOP_S)

    async def apply(self, devices: Sequence[DeviceConfig]) -> dict[str, list[str]]:
        """Start new devices, restart changed ones, stop removed ones; leave the rest running."""
        wanted = {d.id: d for d in devices}
        removed = [i for i in self._runners if i not in wanted]
        changed = [
            i for i, d in wanted.items() if i in self._runners and self._runners[i].config != d
        ]
        added = [i for i in wanted if i not in self._runners]
        for device_id in removed:
            await self._stop(device_id)
            self._on_removed(device_id)
        for device_id in changed:
            await self._stop(device_id)
            self._start(wanted[device_id])
        for device_id in added:
            self._start(wanted[device_id])
        # Keep the config's order (status lists devices as the file does, after a reload too).
        self._runners = {i: self._runners[i] for i in wanted if i in self._runners}
        if removed or changed or added:
            log.info("devices_applied", added=added, changed=changed, removed=removed)
        return {"added": added, "changed": changed, "removed": removed}

    async def stop_all(self) -> None:
        await asyncio.gather(*(self._stop(i) for i in list(self._tasks)))
