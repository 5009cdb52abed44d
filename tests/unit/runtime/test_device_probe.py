"""`devices probe` on an offline device tries it again now, instead of after its backoff."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from drivers.sdk import DriverError, Reason
from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig
from edge_agent.backoff import Backoff
from edge_agent.runtime.device import DeviceOffline, DeviceRunner


class CabledLater(SimulatedDisplay):
    """A real simulated display that cannot be reached until its cable is plugged in."""

    plugged: ClassVar[bool] = False

    async def start(self) -> None:
        if not CabledLater.plugged:
            raise DriverError("nothing listening on that port", reason=Reason.UNREACHABLE)
        await super().start()


def unplugged_screen(backoff: Backoff) -> DeviceRunner:
    """A runner for a CabledLater display whose cable is out, retried on `backoff`."""
    CabledLater.plugged = False
    config = SimulatedDisplayConfig(id="screen", driver="simulated_display", poll_interval_s=0.2)
    return DeviceRunner(
        config, CabledLater, submit=lambda _i: None, on_state=lambda _s: None, backoff=backoff
    )


async def test_probe_retries_an_offline_device_now_and_says_why_it_still_fails() -> None:
    runner = unplugged_screen(Backoff(base_s=600.0, cap_s=600.0))  # retries minutes away
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(100):
            if runner.status.restarts >= 1:
                break
            await asyncio.sleep(0.02)
        with pytest.raises(DeviceOffline, match="unreachable: nothing listening on that port"):
            await runner.probe()  # still unplugged: a fresh attempt, and its reason

        CabledLater.plugged = True  # the engineer fixes the cable and probes again
        found = await asyncio.wait_for(runner.probe(), 5.0)
        assert found, "the probe answered from the device"
        assert runner.status.restarts == 2, "two retries on demand, none from the backoff"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_device_that_stays_down_warns_once_then_logs_its_retries_as_info() -> None:
    # A dead projector retried all night must not fill the journal's warnings: the engineer
    # sees one warning when it goes down, and `status` says the rest.
    import structlog

    runner = unplugged_screen(Backoff(base_s=0.01, cap_s=0.01))
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(runner.run())
        try:
            async with asyncio.timeout(5):
                while runner.status.restarts < 4:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    levels = [e["log_level"] for e in logs if e["event"] == "device_restarting"]
    assert levels[0] == "warning" and set(levels[1:]) == {"info"}, levels
