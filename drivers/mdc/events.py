"""The events the Samsung MDC driver sends (their JSON Schemas are in docs/schemas/)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..sdk.events import EventData
from .messages import DisplayCheck


class DisplayFault(EventData):
    """Event `display_fault`: one of the display's health checks started failing."""

    KIND: ClassVar[str] = "display_fault"

    fault: DisplayCheck = Field(description="The check that fails; `no_sync`: no signal.")


class DisplayFaultCleared(EventData):
    """Event `display_fault_cleared`: a check that failed passes again."""

    KIND: ClassVar[str] = "display_fault_cleared"

    fault: DisplayCheck = Field(description="The check that passes again.")
