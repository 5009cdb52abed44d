"""A sensor that emits readings: a slow environment sensor, or a firehose for load tests."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..sdk import Capability, Command, DeviceConfig, DriverContext
from .faults import FaultMode, apply_fault


class SimulatedSensorConfig(DeviceConfig):
    driver: Literal["simulated_sensor"]
    readings_per_poll: int = Field(
        default=1, ge=1, le=10_000, description="Readings emitted per poll."
    )
    metric: str = "co2"
    unit: str = "ppm"
    fault: FaultMode = "none"


class SimulatedSensor:
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.READ})
    config_model: ClassVar[type[DeviceConfig]] = SimulatedSensorConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {}
    emulator: ClassVar[str | None] = None

    def __init__(self, config: SimulatedSensorConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._n = 0
        # The value and the sample counter are readings (sent as readings), not state.
        self.volatile_state = frozenset({config.metric, "samples"})
        self._last = 0.0

    def _value(self) -> float:
        # A smooth daily-ish curve so the demo's numbers look like a lobby filling up.
        return round(450 + 300 * (1 + math.sin(self._n / 50.0)) / 2, 1)

    async def start(self) -> None:
        await apply_fault(self._config.fault, self._n)

    async def poll(self) -> Mapping[str, Any]:
        await apply_fault(self._config.fault, self._n)
        for _ in range(self._config.readings_per_poll):
            self._n += 1
            self._last = self._value()
            self._ctx.emit_reading(self._config.metric, self._last, self._config.unit)
        return {self._config.metric: self._last, "samples": self._n}

    async def execute(self, command: Command) -> Mapping[str, Any]:
        return {self._config.metric: self._last, "unit": self._config.unit}

    async def probe(self) -> Mapping[str, Any]:
        return {
            "model": "simulated sensor",
            "metric": self._config.metric,
            "unit": self._config.unit,
        }

    async def stop(self) -> None:
        return None
