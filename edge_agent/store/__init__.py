"""The SQLite outbox (store-and-forward): the only writer of `{data_dir}/edge-agent.db`."""

from __future__ import annotations

from .errors import StoreError, StoreErrorReason
from .items import BacklogStats, ItemClass, NewItem, StoredItem
from .schema import SCHEMA_VERSION
from .store import CommitListener, Store

DB_FILENAME = "edge-agent.db"

__all__ = [
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "BacklogStats",
    "CommitListener",
    "ItemClass",
    "NewItem",
    "Store",
    "StoreError",
    "StoreErrorReason",
    "StoredItem",
]
