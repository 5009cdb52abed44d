"""A device runner started the way the supervisor starts one, for driver fault tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from edge_agent.runtime.device import DeviceRunner


@contextlib.asynccontextmanager
async def running_device(
    config: Any, driver: type[Any], *, online_within_s: float = 10.0
) -> AsyncIterator[DeviceRunner]:
    """Run `driver` for `config` in a task until the block ends; yield once it is online."""
    runner = DeviceRunner(config, driver, submit=lambda _i: None, on_state=lambda _s: None)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(online_within_s):
            while not runner.status.online:
                await asyncio.sleep(0.05)
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
