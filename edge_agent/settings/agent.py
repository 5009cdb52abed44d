"""The `agent` section: who this gateway is and where it keeps things."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.sdk import ID_PATTERN

from .paths import UsablePath


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    branch_id: str = Field(
        pattern=ID_PATTERN,
        description="Branch id, part of every MQTT topic.",
    )
    agent_id: str = Field(
        pattern=ID_PATTERN,
        description="This gateway's id within the branch.",
    )
    data_dir: UsablePath = Field(
        default=Path("/var/lib/edge-agent"), description="SQLite store and state live here."
    )
    control_socket: UsablePath = Field(
        default=Path("/run/edge-agent/control.sock"), description="Unix socket for the CLI."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    watchdog_interval_s: float = Field(
        default=5.0, gt=0, description="sd_notify WATCHDOG=1 period when systemd asks for none."
    )
