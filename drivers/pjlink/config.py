"""Settings for one PJLink projector (or projection-wall controller) as written in the YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..sdk.addresses import Host
from ..sdk.contract import DeviceConfig
from .values import INPUT_CODE_RE


def _class_accepts_numbers(schema: dict[str, Any]) -> None:
    """Editors must accept `pjlink_class: 2` as YAML writes it; the validator turns it into "2"."""
    schema.pop("type", None)
    schema["enum"] = ["auto", "1", "2", 1, 2]


class PJLinkConfig(DeviceConfig):
    """Where the projector is and how to talk to it. Secrets only as a file path."""

    driver: Literal["pjlink"]
    host: Host = Field(min_length=1, description="Projector IP address or host name.")
    port: int = Field(
        default=4352, ge=1, le=65535, description="PJLink TCP port (4352 on every model)."
    )
    password_file: Path | None = Field(
        default=None,
        description="File holding the PJLink password; omit when projector auth is off.",
    )
    pjlink_class: Literal["auto", "1", "2"] = Field(
        default="auto",
        description="auto asks the projector (CLSS); force 1 for firmware that answers wrongly.",
        json_schema_extra=_class_accepts_numbers,
    )
    input_names: dict[str, str] = Field(
        default_factory=dict,
        description="Friendly input name -> two-character PJLink code, e.g. {hdmi1: '32'}.",
    )
    notify_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="UDP port for class 2 status notifications (usually 4352); null = off.",
    )
    notify_bind: Host = Field(
        default="0.0.0.0",  # noqa: S104 - notifications arrive from the LAN; the source is checked
        description="Local address the notification listener binds to.",
    )

    @field_validator("pjlink_class", mode="before")
    @classmethod
    def _class_as_text(cls, value: Any) -> Any:
        # YAML writes `pjlink_class: 2` as an int; accept it.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("input_names", mode="before")
    @classmethod
    def _codes_are_pjlink(cls, value: Any) -> Any:
        # YAML reads `hdmi1: 32` as an int; codes are text on the wire.
        if not isinstance(value, dict):
            return value
        out: dict[str, str] = {}
        for name, code in value.items():
            if not INPUT_CODE_RE.fullmatch(str(code).upper()):
                raise ValueError(
                    f"input {name!r}: {code!r} is not a PJLink input code "
                    "(two characters: type 1-6 then 1-9 or A-Z, e.g. 32)"
                )
            out[str(name).strip().lower()] = str(code).upper()
        return out
