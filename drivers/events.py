"""Every event the built-in drivers emit, by model; docs/schemas/event-{kind}.json comes from these.

A new event kind in a built-in driver gets an `EventData` model in its package and a line here.
Readings share one shape for all drivers (`drivers.sdk.events.Reading`).
"""

from __future__ import annotations

from .ble.events import PresenceEvent
from .mdc.events import DisplayFault, DisplayFaultCleared
from .pjlink.events import ProjectorFault
from .sdk.events import EventData

BUILTIN_EVENTS: tuple[type[EventData], ...] = (
    PresenceEvent,
    ProjectorFault,
    DisplayFault,
    DisplayFaultCleared,
)


def builtin_kinds() -> frozenset[str]:
    """The event kinds of the built-in drivers: a plugin driver may not send under them."""
    return frozenset(model.KIND for model in BUILTIN_EVENTS)
