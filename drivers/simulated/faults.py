"""Fault modes shared by the simulated drivers, so tests can make a device misbehave on purpose."""

from __future__ import annotations

import asyncio
from typing import Literal

from ..sdk import DeviceTimeout

FaultMode = Literal["none", "raise", "hang", "flaky", "crash"]


async def apply_fault(mode: FaultMode, counter: int) -> None:
    """Misbehave according to `mode`. `counter` lets `flaky` fail every third call."""
    if mode == "raise":
        raise DeviceTimeout("simulated device is not answering")
    if mode == "crash":
        raise RuntimeError("simulated driver bug")
    if mode == "hang":
        await asyncio.Event().wait()
    if mode == "flaky" and counter % 3 == 2:
        raise DeviceTimeout("simulated intermittent timeout")
