"""A display that lives in memory: power, input, volume and mute, like a signage screen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from ..sdk import Capability, Command, DeviceConfig, DriverContext, InvalidArgument
from .faults import FaultMode, apply_fault


class SimulatedDisplayConfig(DeviceConfig):
    driver: Literal["simulated_display"]
    inputs: list[str] = Field(default_factory=lambda: ["hdmi1", "hdmi2", "dp"])
    fault: FaultMode = Field(
        default="none", description="Make the device misbehave (tests, training)."
    )


class SimulatedDisplay:
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.POWER, Capability.INPUT, Capability.VOLUME, Capability.MUTE}
    )
    config_model: ClassVar[type[DeviceConfig]] = SimulatedDisplayConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {}
    emulator: ClassVar[str | None] = None

    def __init__(self, config: SimulatedDisplayConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._calls = 0
        self._state: dict[str, Any] = {
            "power": "off",
            "input": config.inputs[0] if config.inputs else None,
            "volume": 20,
            "mute": "off",
        }

    async def start(self) -> None:
        await apply_fault(self._config.fault, self._calls)

    async def poll(self) -> Mapping[str, Any]:
        self._calls += 1
        await apply_fault(self._config.fault, self._calls)
        return dict(self._state)

    async def execute(self, command: Command) -> Mapping[str, Any]:
        await apply_fault(self._config.fault, self._calls)
        args = command.args
        if command.action == "power":
            self._state["power"] = args["state"]
        elif command.action == "input":
            if args["source"] not in self._config.inputs:
                raise InvalidArgument(
                    f"unknown input {args['source']!r}; inputs: {', '.join(self._config.inputs)}"
                )
            self._state["input"] = args["source"]
        elif command.action == "volume":
            self._state["volume"] = args["level"]
        elif command.action == "mute":
            self._state["mute"] = args["state"]
        return dict(self._state)

    async def probe(self) -> Mapping[str, Any]:
        return {
            "model": "simulated display",
            "serial": f"SIM-{self._config.id}",
            "inputs": self._config.inputs,
        }

    async def stop(self) -> None:
        return None
