"""Items are checked and serialised in the caller, before they reach the writer thread.

A bad item raises `StoreError(INVALID_ITEM)` to the code that made it, so one bad item can never
poison a whole group commit.
"""

from __future__ import annotations

import math
from typing import Any

from . import records
from .errors import StoreError, StoreErrorReason
from .items import ItemClass, NewItem

#: (cls, kind, device, ts, data_json, data): a checked item, before the writer gives it a ticket.
Checked = tuple[int, str, str | None, float, str, dict[str, Any]]


def check_item(item: NewItem) -> Checked:
    """Check an item in the caller, so one bad item can never poison a whole group commit."""
    try:
        cls = ItemClass(item.cls)
    except ValueError:
        raise StoreError(
            StoreErrorReason.INVALID_ITEM, f"unknown item class {item.cls!r}"
        ) from None
    if not isinstance(item.kind, str) or not item.kind:
        raise StoreError(StoreErrorReason.INVALID_ITEM, "item kind must be a non-empty string")
    if item.device is not None and not isinstance(item.device, str):
        raise StoreError(StoreErrorReason.INVALID_ITEM, "item device must be a string or None")
    ts = item.ts
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise StoreError(
            StoreErrorReason.INVALID_ITEM, f"item ts must be a finite number, not {ts!r}"
        )
    if not isinstance(item.data, dict):
        raise StoreError(StoreErrorReason.INVALID_ITEM, "item data must be a dict")
    return (
        int(cls),
        item.kind,
        item.device,
        float(ts),
        records.dumps(item.data, "item data"),
        item.data,
    )
