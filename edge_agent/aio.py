"""asyncio helpers that Python 3.11's own do not get right."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set (True) or `timeout` seconds pass (False).

    Not `asyncio.wait_for(event.wait(), timeout)`: on Python 3.11, when the event is set in the
    same loop turn as the waiting task is cancelled, wait_for returns normally and the
    cancellation is lost, so a stopped device runner (or uplink) went on running.
    `asyncio.timeout` keeps the cancellation.
    """
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
