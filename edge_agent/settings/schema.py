"""JSON Schema of the whole config file, devices as a union discriminated on `driver`."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from drivers import registry

from .agent import AgentSettings
from .cameras import CameraSettings
from .store import StoreSettings
from .uplink import UplinkSettings


def json_schema(skipped: list[str] | None = None, *, builtin_only: bool = False) -> dict[str, Any]:
    """Built from every driver the registry knows, so editors can complete device keys. An
    installed driver that cannot be loaded is left out, and why is added to `skipped`.
    `builtin_only` leaves the installed plugins out: the repository's config/schema.json must
    not change with what happens to be installed in the venv that writes it."""
    models: tuple[type[BaseModel], ...] = ()
    for name in sorted(registry.BUILTIN) if builtin_only else registry.names():
        try:
            models += (registry.config_model(name),)
        except registry.DriverUnavailable as exc:
            if skipped is not None:
                skipped.append(str(exc))
    device = Annotated[Union[models], Field(discriminator="driver")]  # type: ignore[valid-type]  # noqa: UP007

    class EdgeAgentConfig(BaseModel):
        model_config = ConfigDict(extra="forbid", title="edge-agent config")
        agent: AgentSettings
        uplink: UplinkSettings = Field(default_factory=UplinkSettings)
        store: StoreSettings = Field(default_factory=StoreSettings)
        devices: list[device] = Field(default_factory=list)
        cameras: list[CameraSettings] = Field(default_factory=list)

    schema = TypeAdapter(EdgeAgentConfig).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
