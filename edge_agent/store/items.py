"""What the store keeps: item classes, new items on their way in, and stored (accepted) items."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .clock import ClockSteps

#: The device state kept for a device that left the config, until the uplink has cleared its
#: retained MQTT state (then the row is deleted). Survives restarts, unlike an in-memory flag.
DEVICE_TOMBSTONE: dict[str, Any] = {"removed": True}


class ItemClass(IntEnum):
    """Priority class. Lower value = more important: sent first, dropped last."""

    SUMMARY = 0
    EVENT = 1  # includes device state changes (kind="state")
    READING = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item offered to the store. It is *accepted* once the transaction holding it commits."""

    cls: ItemClass
    kind: str
    device: str | None
    ts: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An accepted item. `id` is globally unique and stable across resends; `seq` is monotonic."""

    id: str
    seq: int
    cls: ItemClass
    kind: str
    device: str | None
    ts: float
    accepted_at: float
    data: dict[str, Any]
    sent_at: float | None = None  # set once the broker acknowledged it (PUBACK)


@dataclass(frozen=True, slots=True)
class BacklogStats:
    """Outbox figures for `health`, `status` and `sync status`."""

    depth: int
    depth_by_class: dict[str, int]
    oldest_age_s: float | None
    dropped_by_class: dict[str, int]
    accepted_total: int
    last_seq: int
    db_size_bytes: int
    held_in_memory: int = 0  # submitted but not yet committed (grows while the disk is full)
    error: str | None = None  # a StoreErrorReason value while writes are failing, else None
    error_message: str | None = None
    clock_steps: ClockSteps = field(default_factory=ClockSteps)  # wall-clock steps seen this run
