"""A device runner started the way the supervisor starts one, for driver fault tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from edge_agent.runtime.device import DeviceRunner
from edge_agent.store.items import NewItem


@contextlib.asynccontextmanager
async def running_device(
    config: Any,
    driver: type[Any],
    *,
    online_within_s: float = 10.0,
    submit: Callable[[NewItem], None] = lambda _i: None,
) -> AsyncIterator[DeviceRunner]:
    """Run `driver` for `config` in a task until the block ends; yield once it is online.

    `submit` gets every item the device hands the store (its events, readings, state events)."""
    runner = DeviceRunner(config, driver, submit=submit, on_state=lambda _s: None)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(online_within_s):
            while not runner.status.online:
                await asyncio.sleep(0.05)
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
