"""The whole config file. Devices are validated one by one against their driver's own model."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializeAsAny, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from drivers import registry
from drivers.sdk import DeviceConfig

from .agent import AgentSettings
from .cameras import CameraSettings
from .store import StoreSettings
from .uplink import UplinkSettings


class Settings(BaseSettings):
    """The config file. Environment overrides (`EDGE_AGENT__SECTION__KEY`) follow this model's
    settings config; the loader applies them over the YAML so errors keep their line numbers."""

    model_config = SettingsConfigDict(
        extra="forbid", env_prefix="EDGE_AGENT__", env_nested_delimiter="__", case_sensitive=False
    )

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
        """The configured device with this id, if any."""
        return next((d for d in self.devices if d.id == device_id), None)
