"""The `uplink` section: the MQTT link to headquarters and how fast the backlog may drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.sdk.addresses import Host


class TLSSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = Field(
        default=None, description="CA bundle; the system store when unset."
    )
    cert_file: Path | None = Field(default=None, description="Client certificate for mTLS.")
    key_file: Path | None = Field(default=None, description="Client key for mTLS.")
    insecure_skip_verify: bool = Field(default=False, description="Never in production.")

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TLSSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("mTLS needs both cert_file and key_file")
        return self


class MQTTSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: Host = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = Field(
        default="edge/v1", pattern=r"^[^#+]+$", description="No MQTT wildcards."
    )
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = Field(
        default=None, description="Defaults to edge-agent-{branch_id}-{agent_id}."
    )
    username: str | None = None
    password_file: Path | None = Field(
        default=None, description="File holding the broker password."
    )
    tls: TLSSettings | None = Field(
        default=None, description="Set (even a bare `tls:`) to use TLS; leave out for plain MQTT."
    )
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    connect_timeout_s: float = Field(default=10, gt=0)
    publish_timeout_s: float = Field(default=15, gt=0, description="Wait this long for a PUBACK.")
    reconnect_min_s: float = Field(default=0.1, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(
        default=1.5, gt=0, le=300, description="Largest reconnect delay (jittered)."
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_tls_key_means_tls(cls, data: Any) -> Any:
        # YAML reads a bare `tls:` as null; whoever wrote it asked for TLS, not for plain MQTT.
        if isinstance(data, dict) and "tls" in data and data["tls"] is None:
            return {**data, "tls": {}}
        return data


class SyncSettings(BaseModel):
    """Store-and-forward drain: batching, pipelining and the backlog rate limit."""

    model_config = ConfigDict(extra="forbid")

    live_window_s: float = Field(
        default=60,
        ge=0,
        description="Items accepted this recently are live: sent first, unthrottled.",
    )
    backlog_rate_msgs: float = Field(default=20, gt=0, description="Backlog messages per second.")
    backlog_rate_bytes: float = Field(
        default=256_000, gt=0, description="Backlog bytes per second."
    )
    backlog_burst_s: float = Field(default=2, gt=0, description="Bucket depth in seconds of rate.")
    max_batch_bytes: int = Field(default=64_000, ge=1024, le=10_000_000)
    max_inflight: int = Field(default=32, ge=1, le=1000, description="Publishes awaiting PUBACK.")
    fetch_limit: int = Field(
        default=20_000, ge=100, le=1_000_000, description="Items read per query."
    )
    compression: Literal["none", "zstd"] = "none"


class UplinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    mqtt: MQTTSettings = Field(default_factory=MQTTSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    health_interval_s: float = Field(default=60, gt=0, description="Retained `health` period.")
    stop_timeout_s: float = Field(
        default=3,
        gt=0,
        description="How long the MQTT goodbye may take on a stop; the daemon caps it at 2 s, so "
        "its whole stop fits in 5 s.",
    )
