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


async def cancel_and_wait(task: asyncio.Task[object], timeout: float) -> bool:
    """Cancel `task` and wait up to `timeout` s for it to end (True if it did).

    Whatever the task ends with (its cancellation, an error) stays with the task; a cancellation
    of the caller itself still reaches the caller. `suppress(CancelledError)` around `wait_for`
    swallowed both, so a reload cancelled by a shutdown went on starting devices.
    """
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if task in done and not task.cancelled():
        task.exception()  # retrieved: asyncio does not log it as never retrieved
    return task in done
