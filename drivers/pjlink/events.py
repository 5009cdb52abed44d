"""The events the PJLink driver sends (their JSON Schemas are in docs/schemas/)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..sdk.events import EventData
from .values import ErrorCategory, ErrorLevel


class ProjectorFault(EventData):
    """Event `projector_fault`: one category of the projector's error status changed level.

    There is no separate "cleared" event: a fault clears with `level: ok`.
    """

    KIND: ClassVar[str] = "projector_fault"

    category: ErrorCategory = Field(description="The error status (ERST) category.")
    level: ErrorLevel = Field(description="The new level; `ok` when the fault cleared.")
    previous: ErrorLevel = Field(description="The level before; `ok` for the first report.")
