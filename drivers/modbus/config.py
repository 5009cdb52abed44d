"""The `modbus` device config: one TCP endpoint or one RS-485 bus, carrying one or more units.

Profiles are loaded while the config is validated, so `edge-agent config check` already reports a
missing profile file or a bad point, with the profile file and point name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from drivers.sdk import DeviceConfig
from drivers.sdk.addresses import Host, SerialPort
from drivers.sdk.messages import worded

from .errors import ProfileError
from .profile import Point, load_profile

UNIT_NAME = worded(
    r"^[a-z0-9][a-z0-9_-]{0,62}$",
    "1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit",
)


class UnitConfig(BaseModel):
    """One Modbus unit (slave) on the bus or behind the gateway."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=UNIT_NAME, description="Prefix of this unit's readings, e.g. main-meter."
    )
    unit_id: int = Field(ge=0, le=255, description="Modbus unit / slave id (RTU: 1..247).")
    profile: str | None = Field(
        default=None, description="Built-in profile name or a YAML file path."
    )
    points: list[Point] = Field(
        default_factory=list, description="Extra points; same name overrides."
    )

    _resolved: tuple[Point, ...] = PrivateAttr(default=())
    _profile_label: str | None = PrivateAttr(default=None)
    _model: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve(self) -> UnitConfig:
        merged: dict[str, Point] = {}
        if self.profile is not None:
            try:
                profile = load_profile(self.profile)
            except ProfileError as exc:
                raise ValueError(exc.message) from None
            merged.update((p.name, p) for p in profile.points)
            self._profile_label = profile.name
            self._model = " ".join(x for x in (profile.manufacturer, profile.model) if x) or None
        names = [p.name for p in self.points]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"inline point(s) defined twice: {', '.join(dupes)}")
        merged.update((p.name, p) for p in self.points)
        if not merged:
            raise ValueError("unit has no points: name a profile or list points")
        self._resolved = tuple(merged.values())
        return self

    @property
    def resolved_points(self) -> tuple[Point, ...]:
        """Profile points with inline points added (an inline point replaces a same-named one)."""
        return self._resolved

    @property
    def profile_name(self) -> str | None:
        return self._profile_label

    @property
    def model_label(self) -> str | None:
        return self._model


class ModbusConfig(DeviceConfig):
    """A Modbus TCP endpoint (or TCP gateway) or an RTU serial bus with its units."""

    driver: Literal["modbus"]
    transport: Literal["tcp", "rtu"] = "tcp"
    host: Host | None = Field(default=None, description="TCP: device or gateway address.")
    port: int = Field(default=502, ge=1, le=65535, description="TCP port (502 is the standard).")
    serial_port: SerialPort | None = Field(default=None, description="RTU: e.g. /dev/ttyUSB0.")
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    units: list[UnitConfig] = Field(min_length=1, max_length=64)
    power_point: str | None = Field(
        default=None,
        description="`<unit>.<point>` of a writable coil that `power on/off` switches.",
    )
    breaker_threshold: int = Field(
        default=3, ge=1, le=100, description="Consecutive timeouts before a unit is skipped."
    )
    breaker_cooldown_s: float = Field(
        default=60.0, ge=0.0, le=86400.0, description="How long a silent unit is skipped."
    )
    max_block_registers: int = Field(
        default=125, ge=1, le=125, description="Largest coalesced register read (125 is the spec)."
    )

    @model_validator(mode="after")
    def _check(self) -> ModbusConfig:
        if self.transport == "tcp" and not self.host:
            raise ValueError("transport tcp needs `host`")
        if self.transport == "rtu":
            if not self.serial_port:
                raise ValueError("transport rtu needs `serial_port` (e.g. /dev/ttyUSB0)")
            if bad := [u.name for u in self.units if not 1 <= u.unit_id <= 247]:
                raise ValueError(f"RTU unit ids must be 1..247: {', '.join(bad)}")
        for attr in ("name", "unit_id"):
            values = [getattr(u, attr) for u in self.units]
            if dupes := sorted({str(v) for v in values if values.count(v) > 1}):
                raise ValueError(f"two units share the same {attr}: {', '.join(dupes)}")
        if self.power_point is not None:
            point = self.find_point(self.power_point)
            if point is None:
                raise ValueError(
                    f"power_point {self.power_point!r} is not `<unit>.<point>` of a unit"
                )
            if not (point[1].writable and point[1].function == "coil"):
                raise ValueError(f"power_point {self.power_point!r} must be a writable coil")
        return self

    def find_point(self, qualified: str) -> tuple[UnitConfig, Point] | None:
        unit_name, _, point_name = qualified.partition(".")
        for unit in self.units:
            if unit.name == unit_name:
                for point in unit.resolved_points:
                    if point.name == point_name:
                        return unit, point
        return None

    def endpoint(self) -> str:
        """Where the device is, for logs and the CLI."""
        return f"{self.host}:{self.port}" if self.transport == "tcp" else f"{self.serial_port}"
