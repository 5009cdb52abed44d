"""Stopping leaves a retained `offline` on `status` whatever the broker does, in bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.uplink.wiring import (
    ROOT,
    events,
    make_settings,
    open_branch,
    running_uplink,
    wait_until,
)
from tests.support.mosquitto import HQ_PASSWORD, HQ_USER, Mosquitto

HOUR = 3600.0
STOP_BUDGET_S = 2.0
#: The broker wakes up during the stop: after a first goodbye attempt, before the budget ends.
RESUME_AFTER_S = 0.65 * STOP_BUDGET_S


def retained_status(broker: Mosquitto) -> dict[str, object]:
    """The retained `status` a brand-new `mosquitto_sub` (not our code) is given."""
    out = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", HQ_USER, "-P", HQ_PASSWORD,
         "-t", f"{ROOT}/status", "-C", "1", "-W", "5", "--retained-only"],
        capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return dict(json.loads(out.stdout)) if out.stdout.strip() else {}


@contextlib.contextmanager
def frozen(broker: Mosquitto, for_s: float) -> Iterator[None]:
    """The broker paused (SIGSTOP) for `for_s`: its sockets stay open, nothing is answered; a
    slow 5G link looks the same to the agent."""
    pid = broker._proc.pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGSTOP)
    resume = threading.Timer(for_s, os.kill, (pid, signal.SIGCONT))
    resume.start()
    try:
        yield
    finally:
        resume.cancel()
        os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_stop_during_a_heavy_drain_with_a_frozen_broker_still_ends_retained_offline(
    broker: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    # Big batches, many in flight: the goodbye would queue behind them.
    settings = make_settings(
        broker,
        tmp_path,
        mqtt={"protocol": protocol},
        sync={"max_batch_bytes": 64_000, "backlog_rate_msgs": 1_000, "backlog_rate_bytes": 1e9},
        stop_timeout_s=STOP_BUDGET_S,
    )
    async with open_branch(settings) as branch:
        await branch.put(events(40_000, pad=200), age_s=HOUR)
        async with running_uplink(settings, branch) as run:
            await wait_until(lambda: run.uplink.sender.historical_messages >= 2)
            assert (await asyncio.to_thread(retained_status, broker))["state"] == "online"
            with frozen(broker, for_s=RESUME_AFTER_S):
                # Returns however late the acknowledgements are (bounded well above its budget).
                await asyncio.wait_for(run.uplink.stop(), timeout=10 * STOP_BUDGET_S)
            # Whatever the broker read after waking up, it must not be a DISCONNECT that
            # cancels the Will while `offline` is still waiting in a queue.
            status = await offline_or_last(broker)
    assert status.get("state") == "offline", status


async def offline_or_last(broker: Mosquitto, attempts: int = 40) -> dict[str, object]:
    status: dict[str, object] = {}
    for _ in range(attempts):
        status = await asyncio.to_thread(retained_status, broker)
        if status.get("state") == "offline":
            break
        await asyncio.sleep(0.1)
    return status
