"""Samsung MDC signage driver: power, input, volume and mute, plus the display's own fault flags.

Each poll is one STATUS round trip (and one DISPLAY_STATUS when enabled), serialised with
commands by one lock, because an MDC link answers one request at a time. Display faults (lamp,
temperature, fan, no signal...) become `display_fault` / `display_fault_cleared` events on change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from ..sdk import (
    Capability,
    Command,
    DeviceConfig,
    DeviceReportedError,
    DriverContext,
    InvalidArgument,
    NoArgs,
    Unreachable,
    Unsupported,
)
from .client import MDCClient
from .config import MDCConfig
from .events import DisplayFault, DisplayFaultCleared
from .messages import (
    INPUTS,
    POWER_OFF,
    POWER_ON,
    POWER_REBOOT,
    Cmd,
    input_code,
    input_name,
    parse_display_status,
    parse_status,
    parse_text,
)
from .secure import normalise_pin


class MDCDriver:
    """One Samsung display over MDC (TCP, secured TCP or RS-232)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.POWER, Capability.INPUT, Capability.VOLUME, Capability.MUTE}
    )
    config_model: ClassVar[type[DeviceConfig]] = MDCConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {"reboot": NoArgs}
    emulator: ClassVar[str | None] = "drivers.mdc.emulator:from_config"

    def __init__(self, config: MDCConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._lock = asyncio.Lock()
        self._client: MDCClient | None = None
        self._display_status = config.display_status and not config.broadcast
        #: Broadcast links get no replies, so state is what we last told the displays.
        self._assumed: dict[str, Any] = {"power": None, "volume": None, "mute": None, "input": None}

    @property
    def config(self) -> MDCConfig:
        """The validated device config (the emulator's `from_config` takes it too)."""
        return self._config

    async def start(self) -> None:
        pin = None
        if self._config.secured and self._config.pin_file is not None:
            pin = normalise_pin(self._ctx.read_secret(self._config.pin_file))
        await self.stop()
        client = MDCClient(self._config, self._ctx.log, pin)
        async with self._lock:
            await client.connect()
            self._client = client
        self._ctx.log.info(
            "mdc_connected",
            endpoint=self._config.endpoint(),
            display_id=self._config.display_id,
            secured=self._config.secured,
        )

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    def _link(self) -> MDCClient:
        if self._client is None:
            raise Unreachable(f"{self._config.endpoint()}: not connected (driver not started)")
        return self._client

    async def poll(self) -> Mapping[str, Any]:
        async with self._lock:
            return await self._read_state()

    async def _read_state(self) -> dict[str, Any]:
        if self._config.broadcast:
            return {**self._assumed, "assumed": True}
        link = self._link()
        status = parse_status(await link.request(Cmd.STATUS))
        state = status.as_state()
        if self._display_status:
            try:
                health = parse_display_status(await link.request(Cmd.DISPLAY_STATUS))
            except DeviceReportedError:
                self._display_status = False
                self._ctx.log.info(
                    "mdc_display_status_unsupported", display_id=self._config.display_id
                )
            else:
                state["temperature_c"] = health.temperature_c
                state["faults"] = sorted(health.faults)
                self._ctx.emit_reading("temperature", health.temperature_c, "degC")
                self._note_faults(health.faults)
        return state

    def _note_faults(self, faults: frozenset[str]) -> None:
        # Kept in ctx.memory: a reconnect must not report the same faults again.
        known: frozenset[str] = self._ctx.memory.get("faults", frozenset())
        for name in sorted(faults - known):
            DisplayFault.model_validate({"fault": name}).emit(self._ctx)
            self._ctx.log.warning("mdc_display_fault", fault=name)
        for name in sorted(known - faults):
            DisplayFaultCleared.model_validate({"fault": name}).emit(self._ctx)
            self._ctx.log.info("mdc_display_fault_cleared", fault=name)
        self._ctx.memory["faults"] = faults

    async def execute(self, command: Command) -> Mapping[str, Any]:
        action, args = command.action, command.args
        if action == "refresh":
            return await self.poll()
        if action == "power":
            return await self._set(
                Cmd.POWER, POWER_ON if args["state"] == "on" else POWER_OFF, "power", args["state"]
            )
        if action == "reboot":
            return await self._set(Cmd.POWER, POWER_REBOOT, "power", "on")
        if action == "volume":
            return await self._set(Cmd.VOLUME, int(args["level"]), "volume", int(args["level"]))
        if action == "mute":
            return await self._set(Cmd.MUTE, int(args["state"] == "on"), "mute", args["state"])
        if action == "input":
            code = input_code(str(args["source"]))
            if code is None:
                known = ", ".join(sorted(INPUTS))
                raise InvalidArgument(f"unknown input {args['source']!r}; settable inputs: {known}")
            return await self._set(Cmd.INPUT_SOURCE, code, "input", input_name(code))
        raise Unsupported(f"samsung_mdc does not support action {action!r}")

    async def _set(self, cmd: Cmd, value: int, key: str, shown: Any) -> dict[str, Any]:
        async with self._lock:
            link = self._link()
            if self._config.broadcast:
                await link.send_only(cmd, bytes([value]))
                self._assumed[key] = shown
                self._ctx.log.info("mdc_broadcast_sent", command=cmd.name, value=value)
                return {**self._assumed, "assumed": True}
            await link.request(cmd, bytes([value]))
            self._ctx.log.info("mdc_command_done", command=cmd.name, value=value)
            return await self._read_state()

    async def probe(self) -> Mapping[str, Any]:
        if self._config.broadcast:
            raise Unsupported(
                "display id 254 (0xFE) broadcasts and gets no replies; probe one display id"
            )
        async with self._lock:
            link = self._link()
            serial = parse_text(await link.request(Cmd.SERIAL_NUMBER))
            firmware = parse_text(await link.request(Cmd.SOFTWARE_VERSION))
            try:
                model: str | None = parse_text(await link.request(Cmd.MODEL_NAME))
            except DeviceReportedError:
                model = None  # older firmware has no MODEL_NAME command
            state = await self._read_state()
        return {
            "class": "signage_display",
            "protocol": "samsung_mdc",
            "model": model,
            "serial": serial,
            "firmware": firmware,
            "display_id": self._config.display_id,
            "endpoint": self._config.endpoint(),
            "secured": self._config.secured,
            "inputs": sorted(INPUTS),
            "state": state,
        }
