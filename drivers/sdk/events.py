"""The `data` of what drivers emit, as pydantic models: HQ reads their JSON Schemas in docs/schemas/.

A driver builds each event through its model and emits `event.data()` under `event.KIND`, so what
goes upstream is what the committed schema says. Shapes every driver shares live here; a driver's
own events live in its package (`drivers/pjlink/events.py`, ...).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from .contract import DriverContext


class EventData(BaseModel):
    """The `data` of one event kind (`KIND`, its `events/{kind}` topic)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    KIND: ClassVar[str]

    def data(self) -> dict[str, Any]:
        """The record's `data`, as JSON sends it."""
        return self.model_dump(mode="json")

    def emit(self, ctx: DriverContext) -> None:
        """Hand this event to the daemon (`ctx.emit_event(KIND, data)`)."""
        ctx.emit_event(self.KIND, self.data())


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Reading(BaseModel):
    """A sampled value (`ctx.emit_reading`): every reading travels on `events/reading`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="What was sampled: `co2`, `lamp_hours`, `<unit>.<point>`...")
    value: bool | int | Annotated[float, Field(allow_inf_nan=False)] | str = Field(
        description="Integers keep every digit (a 64-bit Modbus counter may exceed 2**53)."
    )
    unit: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        description="Engineering unit (`V`, `degC`, `ppm`); absent when the driver gives none.",
    )

    def data(self) -> dict[str, Any]:
        """The record's `data`: `unit` appears only when there is one."""
        return self.model_dump(mode="json", exclude_none=True)
