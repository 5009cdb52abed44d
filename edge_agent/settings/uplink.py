"""The `uplink` section: the MQTT link to headquarters."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TLSSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = Field(default=None, description="CA bundle; the system store when unset.")
    cert_file: Path | None = Field(default=None, description="Client certificate for mTLS.")
    key_file: Path | None = Field(default=None, description="Client key for mTLS.")
    insecure_skip_verify: bool = Field(default=False, description="Never in production.")


class MQTTSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = "edge/v1"
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = Field(default=None, description="Defaults to edge-agent-{branch_id}-{agent_id}.")
    username: str | None = None
    password_file: Path | None = None
    tls: TLSSettings | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    connect_timeout_s: float = Field(default=10, gt=0)


class UplinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    mqtt: MQTTSettings = Field(default_factory=MQTTSettings)
