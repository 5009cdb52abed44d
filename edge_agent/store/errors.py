"""The store's typed error and the mapping from SQLite/OS failures to its reason codes.

Callers (health reporting, the CLI) switch on `StoreError.reason`, never on SQLite's messages, so
every sqlite3/OS exception that leaves the store is translated here first.
"""

from __future__ import annotations

import errno
import sqlite3
from enum import StrEnum

# Primary result codes from sqlite3.h (an extended code keeps them in its low byte).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26


class StoreErrorReason(StrEnum):
    """Stable reason codes, reported in `health` and by `stats()`."""

    DISK_FULL = "disk_full"  # SQLITE_FULL or ENOSPC: held in memory, retried
    IO_ERROR = "io_error"  # any other I/O failure (read-only fs, EIO, cannot open)
    CORRUPT = "corrupt"  # the file is not a database, or its pages are damaged
    SCHEMA_TOO_NEW = "schema_too_new"  # written by a newer edge-agent; we refuse to touch it
    LOCKED = "locked"  # another process holds this data_dir's store
    INVALID_ITEM = "invalid_item"  # data that is not plain JSON
    CLOSED = "closed"  # used before open() or after close()


class StoreError(Exception):
    """Everything the store raises. `reason` says what kind of trouble; the message says what."""

    def __init__(self, reason: StoreErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"StoreError({self.reason.value!r}, {self.message!r})"


def reason_for(exc: BaseException) -> StoreErrorReason:
    """Classify a failure from sqlite3 or the OS."""
    if isinstance(exc, StoreError):
        return exc.reason
    if isinstance(exc, OSError):
        return (
            StoreErrorReason.DISK_FULL if exc.errno == errno.ENOSPC else StoreErrorReason.IO_ERROR
        )
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return StoreErrorReason.IO_ERROR
        primary = code & 0xFF
        if primary == _SQLITE_FULL:
            return StoreErrorReason.DISK_FULL
        if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return StoreErrorReason.CORRUPT
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreErrorReason.LOCKED
        return StoreErrorReason.IO_ERROR
    return StoreErrorReason.IO_ERROR


def as_store_error(exc: BaseException, doing: str) -> StoreError:
    """Wrap `exc` (raised while `doing` something) as a StoreError with a one-line message."""
    if isinstance(exc, StoreError):
        return exc
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return StoreError(reason_for(exc), f"{doing}: {name}: {exc}")


__all__ = ["StoreError", "StoreErrorReason", "as_store_error", "reason_for"]
