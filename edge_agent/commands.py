"""Command request/result models and the router protocol shared by the CLI path and MQTT path.

Both the control socket and the uplink hand a `CommandRequest` to the one `CommandRouter`, which
checks expiry, the allow-list and the arguments, deduplicates by id, audits, and calls the driver.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class CommandErrorCode(StrEnum):
    MALFORMED = "malformed"  # not JSON, or not the request model
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_ACTION = "unknown_action"
    INVALID_ARGUMENT = "invalid_argument"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"  # not in the device's allowed_actions
    DEVICE_OFFLINE = "device_offline"
    DEVICE_ERROR = "device_error"  # the driver raised; `reason` carries its reason code
    TIMEOUT = "timeout"
    INTERNAL = "internal"


#: A command larger than this is refused before it runs: every command is audited in the store,
#: whose size cap counts the audit, so a few huge ones would push accepted items out of the outbox.
#: MQTT payloads are refused unread past it; the CLI's arguments, as JSON, likewise.
MAX_COMMAND_BYTES = 64 * 1024


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1,
        max_length=128,
        description="Caller-chosen id; a replay returns the stored result.",
    )
    device: str = Field(
        min_length=1, max_length=64, description="Device id, or `_agent` for the agent itself."
    )
    action: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    expires_at: float | None = Field(
        default=None, allow_inf_nan=False, description="Unix seconds; a later arrival is rejected."
    )
    source: Literal["cli", "mqtt"] = "cli"  # a future scheduler adds its own name here


class CommandError(BaseModel):
    code: CommandErrorCode
    message: str
    reason: str | None = Field(
        default=None, description="The driver's reason code when the device failed."
    )


class CommandResult(BaseModel):
    id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: CommandError | None = None
    ts: float
    replayed: bool = Field(
        default=False, description="True when this is the stored answer to a repeated id."
    )


class CommandRouter(Protocol):
    async def execute(self, request: CommandRequest) -> CommandResult: ...
