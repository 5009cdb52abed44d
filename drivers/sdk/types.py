"""Value types shared by every driver: capabilities, reason codes, commands and state."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Capability(StrEnum):
    """What a driver can do; the command router and the CLI read these."""

    POWER = "power"
    INPUT = "input"
    VOLUME = "volume"
    MUTE = "mute"
    SCENE = "scene"
    READ = "read"
    WRITE = "write"
    PRESENCE = "presence"
    WAKE = "wake"
    FREEZE = "freeze"


class Reason(StrEnum):
    """Why a device is in the state it is in. Stable strings: HQ dashboards key on them."""

    OK = "ok"
    STARTING = "starting"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    PROTOCOL_ERROR = "protocol_error"
    UNREACHABLE = "unreachable"
    DEVICE_ERROR = "device_error"
    UNSUPPORTED = "unsupported"
    INVALID_ARGUMENT = "invalid_argument"
    BUSY = "busy"
    CRASHED = "crashed"
    HUNG = "hung"
    CONFIG_ERROR = "config_error"
    DISABLED = "disabled"
    STOPPED = "stopped"


OnOff = Literal["on", "off"]


class Command(BaseModel):
    """A validated request for a driver. `args` has already passed the action's args model."""

    model_config = ConfigDict(frozen=True)

    action: str
    args: dict[str, Any] = Field(default_factory=dict)


# --- Argument models for the common actions. Positional CLI words map onto fields in order. ---


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PowerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: OnOff


class InputArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=64)


class VolumeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=0, le=100)


class MuteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: OnOff


class SceneArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)


class ReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point: str | None = None


class WriteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point: str = Field(min_length=1)
    value: float | int | bool | str


#: Default action -> args model for each capability. A driver may add its own in `extra_actions`.
CAPABILITY_ACTIONS: dict[Capability, dict[str, type[BaseModel]]] = {
    Capability.POWER: {"power": PowerArgs},
    Capability.INPUT: {"input": InputArgs},
    Capability.VOLUME: {"volume": VolumeArgs},
    Capability.MUTE: {"mute": MuteArgs},
    Capability.SCENE: {"scene": SceneArgs},
    Capability.READ: {"read": ReadArgs},
    Capability.WRITE: {"write": WriteArgs},
    Capability.PRESENCE: {},
    Capability.WAKE: {"wake": NoArgs},
    Capability.FREEZE: {"freeze": PowerArgs},
}

#: Every driver answers these.
UNIVERSAL_ACTIONS: dict[str, type[BaseModel]] = {"refresh": NoArgs}
