"""Config for a Samsung MDC display: TCP (port 1515) or RS-232, one display id, optional PIN."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..sdk import DeviceConfig
from ..sdk.addresses import Host, SerialPort


class SerialSettings(BaseModel):
    """RS-232 line settings. Samsung displays ship at 9600 8N1 with no flow control."""

    model_config = ConfigDict(extra="forbid")

    port: SerialPort = Field(min_length=1, description="Serial device, e.g. /dev/ttyUSB0.")
    baudrate: Literal[2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class MDCConfig(DeviceConfig):
    """One display. Set exactly one of `host` (TCP) or `serial`."""

    driver: Literal["samsung_mdc"]
    host: Host | None = Field(
        default=None, min_length=1, description="Display IP or hostname (MDC over LAN)."
    )
    port: int = Field(
        default=1515, ge=1, le=65535, description="MDC TCP port; 1515 on every Samsung display."
    )
    serial: SerialSettings | None = Field(default=None, description="RS-232 instead of TCP.")
    display_id: int = Field(
        default=0,
        ge=0,
        le=0xFE,
        description=(
            "Display ID from the display's menu (0-253); 254 (0xFE) broadcasts and gets no replies."
        ),
    )
    secured: bool = Field(
        default=False,
        description="MDC secured mode (TLS + PIN), on by default on 2020+ firmware. TCP only.",
    )
    pin_file: Path | None = Field(
        default=None, description="File holding the 4-digit MDC PIN (secured mode)."
    )
    display_status: bool = Field(
        default=True,
        description="Also read lamp/temperature/fan/no-sync each poll and emit fault events.",
    )

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.host is None) == (self.serial is None):
            raise ValueError("set exactly one of `host` (MDC over TCP) or `serial` (RS-232)")
        if self.secured and self.serial is not None:
            raise ValueError("`secured` applies to TCP only; RS-232 MDC has no PIN")
        if self.secured and self.pin_file is None:
            raise ValueError(
                "`secured: true` needs `pin_file` (a file holding the display's MDC PIN)"
            )
        if self.pin_file is not None and not self.secured:
            raise ValueError("`pin_file` is only used with `secured: true`")
        return self

    @property
    def broadcast(self) -> bool:
        """True for id 0xFE: every display obeys, none answers."""
        return self.display_id == 0xFE

    def endpoint(self) -> str:
        """Where the display is, for logs and error messages (never includes secrets)."""
        if self.serial is not None:
            return f"{self.serial.port}@{self.serial.baudrate}"
        return f"{self.host}:{self.port}"
