"""The events the beacon driver sends (their JSON Schemas are in docs/schemas/)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ..sdk.events import EventData


class PresenceEvent(EventData):
    """Event `presence`: a configured beacon entered or left."""

    KIND: ClassVar[str] = "presence"

    beacon: str = Field(description="The beacon's `id` in the config.")
    state: Literal["enter", "leave"]
    rssi: float | None = Field(
        description="Smoothed signal strength (dBm) at the change; null for a leave by silence "
        "(not heard for `leave_after_s`)."
    )
