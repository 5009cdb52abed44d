"""A state that differs only in its readings (a sensor value, an RSSI, a heartbeat's age) is not
a state change: one event a minute at most, while a real change still goes out at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from drivers.simulated.sensor import SimulatedSensor, SimulatedSensorConfig
from edge_agent.runtime.device import VOLATILE_MIN_INTERVAL_S, DeviceRunner
from edge_agent.store.items import NewItem


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class SwitchingSensor(SimulatedSensor):
    """The real simulated sensor, plus a `mode` that the test flips: a real state change."""

    mode: ClassVar[str] = "normal"

    async def poll(self) -> Mapping[str, Any]:
        return {**await super().poll(), "mode": SwitchingSensor.mode}


async def polls(runner: DeviceRunner, n: int, clock: Clock, step: float) -> None:
    for _ in range(n):
        await asyncio.sleep(0.03)  # the runner polls every 0.01 s
        clock.now += step


async def test_readings_alone_make_a_state_event_a_minute_and_a_real_change_goes_at_once() -> None:
    SwitchingSensor.mode = "normal"
    config = SimulatedSensorConfig.model_validate(
        {"id": "co2", "driver": "simulated_sensor", "poll_interval_s": 0.01}
    )
    clock, states = Clock(), []

    def submit(item: NewItem) -> None:
        if item.kind == "state":
            states.append(item)

    runner = DeviceRunner(
        config, SwitchingSensor, submit=submit, on_state=lambda _s: None, clock=clock
    )
    task = asyncio.create_task(runner.run())
    try:
        await polls(runner, 40, clock, step=1.0)  # 40 s of polls, the co2 value moving each time
        assert len(states) == 1, "only the first state: the value and sample count are readings"
        assert runner.status.state["samples"] > 20, "devices show still sees fresh readings"

        SwitchingSensor.mode = "calibrating"
        await polls(runner, 3, clock, step=1.0)
        assert len(states) == 2 and states[-1].data["state"]["mode"] == "calibrating"

        await polls(runner, 10, clock, step=VOLATILE_MIN_INTERVAL_S / 5)
        assert len(states) in (3, 4), "past a minute, the drifted readings go out once a minute"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
