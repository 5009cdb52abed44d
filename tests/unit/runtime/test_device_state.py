"""A device runner given a state no store can keep (NaN from a kiosk's JSON) carries on."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

from drivers.simulated.sensor import SimulatedSensor, SimulatedSensorConfig
from edge_agent.runtime.device import DeviceRunner
from edge_agent.store.items import NewItem
from edge_agent.store.records import dumps


class TurnsNaN(SimulatedSensor):
    """A real simulated sensor whose state turns NaN after its fifth poll."""

    polls = 0

    async def poll(self) -> Mapping[str, Any]:
        state = dict(await super().poll())
        TurnsNaN.polls += 1
        if TurnsNaN.polls > 5:
            state["co2"] = math.nan
        return state


async def test_a_state_with_nan_is_refused_and_the_device_keeps_reporting() -> None:
    config = SimulatedSensorConfig.model_validate(
        {"id": "co2", "driver": "simulated_sensor", "poll_interval_s": 0.05}
    )
    states: list[NewItem] = []

    def submit(item: NewItem) -> None:
        dumps(item.data, "item")  # what the real store does: strict JSON or StoreError
        if item.kind == "state":
            states.append(item)

    runner = DeviceRunner(config, TurnsNaN, submit=submit, on_state=lambda _s: None)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(2.5)  # the state goes out at most once a second
    assert not task.done()  # before, the first NaN state ended the device's task for good
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert TurnsNaN.polls >= 20  # polling went on
    assert runner.status.online and runner.status.restarts == 0
    assert states and all(math.isfinite(s.data["state"]["co2"]) for s in states)


async def test_a_change_held_back_by_the_rate_limit_goes_out_about_a_second_later() -> None:
    # Two quick commands: the second state change falls inside the 1 s limit. It used to wait for
    # the next poll (10 s by default, up to an hour), so HQ showed the wrong input meanwhile.
    from drivers.sdk import Command
    from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig

    config = SimulatedDisplayConfig(id="screen", driver="simulated_display", poll_interval_s=600)
    states: list[NewItem] = []
    runner = DeviceRunner(
        config,
        SimulatedDisplay,
        submit=lambda i: states.append(i) if i.kind == "state" else None,
        on_state=lambda _s: None,
    )
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(5):
            while not runner.status.online:
                await asyncio.sleep(0.01)
        await asyncio.sleep(1.1)  # past the limit: the power change goes out at once
        await runner.execute(Command(action="power", args={"state": "on"}))
        await runner.execute(Command(action="input", args={"source": "hdmi2"}))
        async with asyncio.timeout(3):  # the next poll is 10 minutes away
            while not states or states[-1].data["state"].get("input") != "hdmi2":
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
