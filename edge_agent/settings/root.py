"""The whole config file. Devices are validated one by one against their driver's own model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

from drivers import registry
from drivers.sdk import DeviceConfig

from .agent import AgentSettings
from .cameras import CameraSettings
from .store import StoreSettings
from .uplink import UplinkSettings


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: AgentSettings
    uplink: UplinkSettings = Field(default_factory=UplinkSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    devices: list[SerializeAsAny[DeviceConfig]] = Field(default_factory=list)
    cameras: list[CameraSettings] = Field(default_factory=list)

    @field_validator("devices", mode="before")
    @classmethod
    def _each_device_by_driver(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("driver"), str):
                out.append(registry.config_model(entry["driver"]).model_validate(entry))
            else:
                out.append(entry)
        return out

    def device(self, device_id: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.id == device_id), None)
