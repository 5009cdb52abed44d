"""The `store` settings applied: one place that turns limits into capacity calls and warnings.

capacity.py knows *how* to drop (pure SQL, property-tested); this module knows *when* and with
which limits, records the drop counters in the same transaction, and logs what was lost. The
writer thread calls `check_size` after each commit and `maintain` every maintenance interval.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
import structlog

from ..settings.store import StoreSettings
from . import capacity
from .records import prune_commands

log = structlog.get_logger("edge_agent.store")


def max_bytes(settings: StoreSettings) -> int:
    return int(settings.max_size_mb * 1024 * 1024)


def enforce_size(conn: sqlite3.Connection, settings: StoreSettings) -> capacity.DropReport:
    """Size policy plus its counters; call inside a transaction."""
    report = capacity.enforce_size(conn, max_bytes(settings))
    capacity.add_drops(conn, report.dropped, capacity.DropReason.CAPACITY)
    return report


def expire(conn: sqlite3.Connection, settings: StoreSettings, now: float) -> capacity.DropReport:
    """Age policy (and the audit trail's age limit) plus counters; call inside a transaction."""
    max_age_s = settings.max_age_days * 86400
    report = capacity.expire(
        conn, now=now, max_age_s=max_age_s, keep_sent_s=settings.keep_sent_hours * 3600
    )
    capacity.add_drops(conn, report.dropped, capacity.DropReason.AGE)
    prune_commands(conn, now - max_age_s)
    return report


def log_drops(
    settings: StoreSettings,
    aged: capacity.DropReport | None,
    oversize: capacity.DropReport | None,
) -> None:
    """One warning per policy that dropped unsent data (pruning sent items is routine)."""
    if aged is not None and aged.total_dropped:
        log.warning("store_aged_out", max_age_days=settings.max_age_days, **aged.log_fields())
    if oversize is not None and (oversize.total_dropped or oversize.sent_pruned):
        log.warning(
            "store_capacity_dropped",
            max_size_mb=settings.max_size_mb,
            sent_pruned=oversize.sent_pruned,
            **oversize.log_fields(),
        )


def check_size(
    db: sqlite_utils.Database, conn: sqlite3.Connection, settings: StoreSettings
) -> None:
    """After each commit: a cheap page count; the size policy itself runs only over the cap."""
    try:
        if capacity.used_bytes(conn) <= max_bytes(settings):
            return
        with db.atomic():
            report = enforce_size(conn, settings)
    except (sqlite3.Error, OSError) as exc:
        log.exception("store_capacity_enforce_failed", error=str(exc))
        return
    log_drops(settings, None, report)


def prune(
    conn: sqlite3.Connection, settings: StoreSettings, now: float
) -> tuple[capacity.DropReport, capacity.DropReport]:
    """The age policy, then the size policy; call inside a transaction."""
    return expire(conn, settings, now), enforce_size(conn, settings)


def maintain(
    db: sqlite_utils.Database, conn: sqlite3.Connection, settings: StoreSettings, now: float
) -> None:
    """Every maintenance interval (and at start): drop what aged out, then check the size."""
    try:
        with db.atomic():
            report = expire(conn, settings, now)
    except (sqlite3.Error, OSError) as exc:
        log.exception("store_maintenance_failed", error=str(exc))
        return
    log_drops(settings, report, None)
    check_size(db, conn, settings)
