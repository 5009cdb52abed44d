"""The `ble_beacons` device entry: which adapter to scan on and which beacons to track."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..sdk import ID_PATTERN, DeviceConfig
from ..sdk.messages import worded

_HEX = "0123456789abcdef"


class IBeaconMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uuid: str = Field(description="Proximity UUID, e.g. f7826da6-4fa2-4e98-8024-bc5b71e0893e.")
    major: int = Field(ge=0, le=0xFFFF)
    minor: int = Field(ge=0, le=0xFFFF)

    @field_validator("uuid")
    @classmethod
    def _canonical_uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a UUID (want 8-4-4-4-12 hex digits)") from None


class EddystoneUIDMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(description="20 hex digits.")
    instance: str = Field(description="12 hex digits.")

    @field_validator("namespace", "instance")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.lower().removeprefix("0x")
        if any(c not in _HEX for c in value):
            raise ValueError(f"{value!r} is not hex")
        return value

    @model_validator(mode="after")
    def _lengths(self) -> EddystoneUIDMatch:
        if len(self.namespace) != 20 or len(self.instance) != 12:
            raise ValueError("namespace needs 20 hex digits and instance 12")
        return self


class BeaconEntry(BaseModel):
    """One beacon to track: exactly one of `ibeacon` or `eddystone_uid`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, description="Name used in events.")
    ibeacon: IBeaconMatch | None = None
    eddystone_uid: EddystoneUIDMatch | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BeaconEntry:
        if (self.ibeacon is None) == (self.eddystone_uid is None):
            raise ValueError(f"beacon {self.id!r}: give exactly one of ibeacon or eddystone_uid")
        return self


class BeaconConfig(DeviceConfig):
    driver: Literal["ble_beacons"]
    adapter: str = Field(
        default="hci0",
        pattern=worded(r"^hci[0-9]{1,2}$", "hciN, e.g. hci0"),
        description="BlueZ adapter.",
    )
    beacons: list[BeaconEntry] = Field(min_length=1)
    poll_interval_s: float = Field(default=2.0, ge=0.0, le=3600.0)
    smoothing: Literal["ema", "median"] = "ema"
    ema_alpha: float = Field(default=0.3, gt=0.0, le=1.0, description="Weight of the newest RSSI.")
    median_window: int = Field(default=5, ge=1, le=50, description="Sightings in the median.")
    enter_rssi: int = Field(
        default=-75, ge=-127, le=20, description="Smoothed dBm to count as here."
    )
    leave_rssi: int = Field(
        default=-85, ge=-127, le=20, description="Smoothed dBm to count as gone."
    )
    leave_after_s: float = Field(default=30.0, gt=0.0, le=3600.0, description="Gone when unheard.")

    @model_validator(mode="after")
    def _hysteresis(self) -> BeaconConfig:
        if self.leave_rssi > self.enter_rssi:
            raise ValueError("leave_rssi must be at or below enter_rssi (hysteresis)")
        ids = [b.id for b in self.beacons]
        if len(ids) != len(set(ids)):
            raise ValueError("beacon ids must be unique")
        return self
