"""The driver contract: config base, the context a driver is given, and the driver protocol.

A driver is protocol code that knows nothing of the daemon. The supervisor (in edge_agent.runtime)
calls `start`, then `poll` every `poll_interval_s` under a timeout, routes commands to `execute`,
and calls `stop` on shutdown or before a restart. Any `DriverError` marks the device offline with
its reason and triggers a restart with backoff; any other exception counts as a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from .messages import worded
from .types import Capability, Command

#: Ids and names that end up in MQTT topics, events and file names.
ID_PATTERN = worded(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
    "1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit",
)


class DeviceConfig(BaseModel):
    """Keys every device accepts. Drivers subclass this and add `driver: Literal["name"]`."""

    model_config = ConfigDict(extra="forbid")

    driver: str = Field(
        description="Which driver speaks to this device; subclasses pin it with a Literal."
    )
    id: str = Field(
        pattern=ID_PATTERN,
        description="Unique device id; used in MQTT topics.",
    )
    name: str | None = Field(default=None, description="Human-friendly name shown in the CLI.")
    location: str | None = Field(default=None, description="Where in the branch the device is.")
    enabled: bool = True
    poll_interval_s: float = Field(
        default=10.0, ge=0.0, le=3600.0, description="Seconds between polls; 0 polls continuously."
    )
    timeout_s: float = Field(
        default=3.0, gt=0.0, le=120.0, description="Per-request timeout on the wire."
    )
    retries: int = Field(
        default=1, ge=0, le=10, description="Retries of one request before the poll fails."
    )
    allowed_actions: list[str] | None = Field(
        default=None,
        description="Remote (MQTT) command allow-list; null allows every action the driver supports.",
    )


@runtime_checkable
class Logger(Protocol):
    """The slice of a structlog logger a driver uses. Event names are stable snake_case strings."""

    def debug(self, event: str, /, **kw: Any) -> Any: ...
    def info(self, event: str, /, **kw: Any) -> Any: ...
    def warning(self, event: str, /, **kw: Any) -> Any: ...
    def error(self, event: str, /, **kw: Any) -> Any: ...


class DriverContext(Protocol):
    """What the daemon hands a driver. Emitting never blocks and never touches disk or network."""

    @property
    def device_id(self) -> str: ...

    @property
    def log(self) -> Logger: ...

    def now(self) -> float:
        """Wall-clock seconds (time.time), injectable for tests."""
        ...

    def emit_reading(
        self, name: str, value: float | int | bool | str, unit: str | None = None
    ) -> None:
        """A sampled value (meter power, CO2 ppm...). Lowest priority class in the store."""
        ...

    def emit_event(self, kind: str, data: Mapping[str, Any]) -> None:
        """Something happened (beacon entered, lamp failed...). Event priority class."""
        ...

    def read_secret(self, path: Path) -> str:
        """Contents of a `*_file` secret, stripped. Raises AuthFailed when unreadable or not text."""
        ...

    @property
    def memory(self) -> dict[str, Any]:
        """What a driver keeps across its restarts (each session is a new instance): faults
        already reported, who is present. Lives as long as the device's config does."""
        ...


class Driver(Protocol):
    """What every driver class provides. See module doc for the lifecycle."""

    capabilities: ClassVar[frozenset[Capability]]
    config_model: ClassVar[type[DeviceConfig]]
    #: Extra, driver-specific actions: action -> pydantic args model.
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]]
    #: "module:callable" that builds an Emulator for a config of this driver, or None.
    emulator: ClassVar[str | None]
    # Optional: `offline_actions: ClassVar[frozenset[str]]` names actions that need no session
    # (Wake-on-LAN). The supervisor runs them on a fresh instance, without start(), while offline.
    # Optional: `volatile_state: frozenset[str]` (class or instance attribute) names top-level
    # state keys that are readings, not state (an RSSI, a heartbeat's age, a sample counter): a
    # change in them alone makes a state event at most once a minute, any other change at once.
    # Optional: `poll_budget_s: float` (attribute or property), the longest one poll may take when
    # every request in it times out (a bus of many units). The supervisor calls a poll hung only
    # past this (plus a margin); without it, past 4 x timeout_s x (retries + 1).

    def __init__(self, config: Any, ctx: DriverContext) -> None: ...

    async def start(self) -> None:
        """Connect / open the port / authenticate. Raise a DriverError when that fails."""
        ...

    async def poll(self) -> Mapping[str, Any]:
        """Read the device and return its state dict (power, input, ...). Emit readings via ctx."""
        ...

    async def execute(self, command: Command) -> Mapping[str, Any]:
        """Carry out a validated command and return a JSON-able result (usually the new state)."""
        ...

    async def probe(self) -> Mapping[str, Any]:
        """Identify the device (model, serial, class, inputs) for `edge-agent devices probe`."""
        ...

    async def stop(self) -> None:
        """Release the connection. Must not raise."""
        ...


class Emulator(Protocol):
    """A real wire-protocol peer used by tests, `make demo` and `edge-agent simulate`."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def describe(self) -> str:
        """One line for the operator: where it listens and what it pretends to be."""
        ...
