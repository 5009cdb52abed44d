"""wait_event: a cancellation that lands as the event is set still cancels."""

from __future__ import annotations

import asyncio

import pytest

from edge_agent.aio import wait_event


async def test_a_cancel_in_the_same_turn_as_the_event_is_not_lost() -> None:
    # Python 3.11's wait_for(event.wait(), t) returns normally here and the task runs on: a
    # device removed by a reload right after a command kept polling.
    event = asyncio.Event()
    reached_after = asyncio.Event()

    async def runner() -> None:
        await wait_event(event, 60)
        reached_after.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(runner())
    await asyncio.sleep(0)  # the runner now waits
    event.set()
    task.cancel()
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not reached_after.is_set()


async def test_wait_event_says_whether_the_event_came_or_time_ran_out() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.05) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5) is True
    assert await wait_event(event, 0) is True  # already set: at once
