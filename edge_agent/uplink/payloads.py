"""Every MQTT payload of contract v1 as a pydantic model; their JSON Schemas go to docs/schemas/."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.commands import CommandErrorCode


class AgentState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPING = "stopping"


class StatusPayload(BaseModel):
    """Retained on `status`: the birth message, and (as `offline`) the Will."""

    model_config = ConfigDict(extra="forbid")

    state: AgentState
    session: int = Field(
        ge=1, description="Increments on every connect; persisted across restarts."
    )
    version: str
    config_hash: str
    started_at: float = Field(description="Unix seconds the daemon started.")
    ts: float = Field(description="Unix seconds this message was made.")


class DeviceStatePayload(BaseModel):
    """Retained on `devices/{id}/state`; an empty retained message means the device was removed."""

    model_config = ConfigDict(extra="forbid")

    online: bool
    reason: str = Field(description="Reason code: ok, timeout, auth_failed, unreachable, ...")
    detail: str | None = Field(
        default=None, description="Human-readable why, e.g. the device's own error text (optional)."
    )
    state: dict[str, Any] = Field(default_factory=dict, description="power, input, volume, ...")
    last_seen: float | None = Field(default=None, description="Unix seconds of the last good poll.")
    ts: float


class SubsystemHealth(BaseModel):
    model_config = ConfigDict(extra="allow")

    state: str | None = Field(default=None, description="ok, degraded, down, ... when reported.")
    reason: str = Field(description="Stable reason code.")


class DeviceHealth(BaseModel):
    model_config = ConfigDict(extra="allow")

    online: bool
    reason: str


class CameraHealth(BaseModel):
    model_config = ConfigDict(extra="allow")

    fps: float | None = None
    state: str
    reason: str


class BacklogHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    depth: int = Field(ge=0, description="Accepted items not yet acknowledged by the broker.")
    depth_by_class: dict[str, int] = Field(default_factory=dict)
    oldest_age_s: float | None = Field(
        description="Age of the oldest unsent item; null when empty."
    )
    dropped: int = Field(
        ge=0, description="Items dropped by the store's size/age caps, all classes."
    )
    dropped_by_class: dict[str, int] = Field(default_factory=dict)


class ClockHealth(BaseModel):
    """The PC's clock, which every `ts` comes from."""

    model_config = ConfigDict(extra="forbid")

    synced: bool | None = Field(
        description="The kernel holds the clock synchronised (NTP); null where it cannot tell. "
        "While false, `ts` values may be off by however far the clock is."
    )
    steps: int = Field(
        ge=0,
        description="Times the clock was stepped since the agent started (one while it was "
        "stopped counts when it starts).",
    )
    last_step_s: float | None = Field(
        description="The last step in seconds (+ forward). Items accepted before it carry `ts` "
        "by the old clock."
    )
    last_step_at: float | None = Field(description="Unix seconds when the agent saw the last step.")


class HostHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_percent: float | None
    rss_bytes: int | None
    disk_free_bytes: int | None
    clock: ClockHealth | None = Field(default=None, description="Added in 1.2.")


class RefusedTopic(BaseModel):
    """A topic the broker refuses (MQTT 5 PUBACK >= 0x80); its items wait in the store."""

    model_config = ConfigDict(extra="forbid")

    topic: str
    reason_code: int = Field(description="PUBACK reason code, e.g. 135 (0x87) not authorized.")
    reason: str = Field(description="The reason code's name.")
    since: float = Field(description="Unix seconds of the first refusal.")
    items: int = Field(ge=0, description="Items refused so far; kept unsent, retried later.")
    retry_in_s: float = Field(ge=0, description="Seconds until the next attempt on this topic.")


class ClientIdInUse(BaseModel):
    """The broker keeps ending this agent's sessions right after connect: another client
    (e.g. a gateway cloned from the same disk image) probably connects with the same client id."""

    model_config = ConfigDict(extra="forbid")

    client_id: str
    config_keys: list[str] = Field(description="The config keys the client id is made of.")
    since: float = Field(description="Unix seconds the agent began to suspect it.")
    sessions_cut: int = Field(ge=0, description="Sessions the broker ended early since then.")
    last_session_s: float = Field(ge=0, description="How long the last of them lasted.")
    reason_code: int | None = Field(
        description="The broker's DISCONNECT reason: 142 (0x8E) Session taken over, 128 "
        "unspecified, null when it sent none (mosquitto 2.0 just closes the connection)."
    )


class UplinkHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bytes_sent_today: int = Field(
        ge=0, description="Payload bytes acknowledged since local midnight."
    )
    sent_per_s: float = Field(ge=0, description="Items acknowledged per second, recent average.")
    last_puback_at: float | None
    refused: list[RefusedTopic] = Field(
        default_factory=list, description="Topics the broker refuses; the rest keep flowing."
    )
    reason: Literal["ok", "client_id_in_use"] = Field(
        default="ok",
        description="ok, or client_id_in_use while another client seems to use this agent's "
        "client id (see client_id_in_use; subsystems.uplink says the same).",
    )
    client_id_in_use: ClientIdInUse | None = Field(
        default=None, description="Set while reason is client_id_in_use."
    )


class HealthPayload(BaseModel):
    """Retained on `health`, every `uplink.health_interval_s` and on every connect."""

    model_config = ConfigDict(extra="forbid")

    session: int
    ts: float
    subsystems: dict[str, SubsystemHealth] = Field(default_factory=dict)
    devices: dict[str, DeviceHealth] = Field(default_factory=dict)
    cameras: dict[str, CameraHealth] = Field(default_factory=dict)
    backlog: BacklogHealth
    host: HostHealth
    uplink: UplinkHealth


class EventRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable across resends: deduplicate on it.")
    seq: int = Field(description="Monotonic per agent store.")
    ts: float = Field(description="Unix seconds it happened.")
    kind: str
    device: str | None
    data: dict[str, Any]


class EventBatch(BaseModel):
    """`events/{kind}` and `summaries/{kind}`, uncompressed."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    historical: bool = Field(description="True when drained from the backlog, not sent live.")
    events: list[EventRecord]


class ZstdEventBatch(BaseModel):
    """The compressed form: `events_zstd` is base64(zstd(JSON array of EventRecord))."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    historical: bool
    encoding: Literal["zstd"]
    count: int = Field(ge=1, description="Number of records inside `events_zstd`.")
    events_zstd: str


class CommandPayload(BaseModel):
    """What HQ publishes on `cmd/{device_id}`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=128, description="Caller-chosen; a repeat is answered, not redone."
    )
    action: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    expires_at: float | None = Field(
        default=None, allow_inf_nan=False, description="Unix seconds; later arrivals are refused."
    )


class CommandErrorPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: CommandErrorCode
    message: str
    reason: str | None = None


class CommandResultPayload(BaseModel):
    """What the agent publishes on `cmd/{device_id}/result` (and the MQTT 5 response topic)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    ok: bool
    result: dict[str, Any] | None = None
    error: CommandErrorPayload | None = None
    ts: float
    replayed: bool = Field(default=False, description="The stored answer to a repeated id.")


#: Schema file name (in docs/schemas/) -> model. `event-batch` covers both encodings.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "status": StatusPayload,
    "health": HealthPayload,
    "device-state": DeviceStatePayload,
    "event-batch": EventBatch,
    "event-batch-zstd": ZstdEventBatch,
    "command": CommandPayload,
    "command-result": CommandResultPayload,
}
