"""This boot's stamps move with the wall clock when it is stepped (see clock.py).

The stamps are `accepted_at` of the outbox and the times of the command audit: the age policy and
the command-id memory count from them. Those made since the PC booted were made by the clock as it
was, so a step moves them by the same amount, to no later than now and (outbox) to no earlier
than the last stamp of an earlier boot: stamps never decrease with seq, which the outbox index
relies on. `meta` keeps the boot's id, its first seq and command rowid, and the wall-minus-boot
offset its stamps reflect, so an agent restarted in the same boot (an engineer at work before the
link, and NTP, are up) still moves the earlier run's rows, and a step while it was stopped is
applied when it opens. Rows of earlier boots keep their stamps: no one knows the clock they were
stamped by.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass

import structlog

from . import outbox, records
from .clock import STEP_S, Boot, ClockSteps, StepWatch

log = structlog.get_logger("edge_agent.store")

META_KEY = "clock.boot"


@dataclass(frozen=True, slots=True)
class BootRecord:
    """What `meta` keeps of the current boot."""

    boot_id: str
    skew: float  # wall minus boot clock that this boot's stamps reflect
    seq0: int  # the first outbox seq of this boot
    cmd0: int  # the last command-audit rowid before this boot


class ClockFollower:
    """Applies wall-clock steps to this boot's stamps; owned by the store's writer thread.

    The writer calls `step()` before it stamps or ages anything; when that is not 0.0, `apply()`
    in a transaction of its own, then `applied()` once it committed or `failed()` if not. The
    record in `meta` is written with each applied step, and by `save()` when `unsaved()`.
    """

    def __init__(self, wall: Callable[[], float], boot: Boot) -> None:
        self._wall = wall
        self._boot = boot
        self._watch = StepWatch(wall, boot.clock)
        self._record: BootRecord | None = None  # None: no boot id, so only this run counts
        self._saved: BootRecord | None = None  # what `meta` holds, as far as we know
        self._seq0 = self._cmd0 = 0
        self._floor = 0.0  # accepted_at of the last row before this boot
        self._pending = 0.0  # seconds of steps not applied yet
        self._told = False  # store_clock_step_not_applied said for the pending step

    @property
    def seen(self) -> ClockSteps:
        return self._watch.seen

    def open(self, conn: sqlite3.Connection, next_seq: int) -> None:
        """Take up this boot's record, or start one; a step while stopped becomes pending.
        Call inside a transaction; if it raises (a full disk), the follower still works and
        saves its record later."""
        skew = self._watch.skew
        bid = self._boot.id()
        rec = _load(conn)
        if bid is not None and rec is not None and rec.boot_id == bid:
            self._record = self._saved = rec
            self._seq0, self._cmd0 = rec.seq0, rec.cmd0
            if abs(skew - rec.skew) >= STEP_S:
                self._pending = skew - rec.skew
                self._watch.record(self._pending)
                log.warning("clock_stepped", by_s=round(self._pending, 3), while_stopped=True)
        else:
            self._seq0, self._cmd0 = next_seq, records.last_command_rowid(conn)
            if bid is not None:
                self._record = BootRecord(bid, skew, self._seq0, self._cmd0)
        self._floor = outbox.accepted_before(conn, self._seq0)
        if self.unsaved():
            self.save(conn)

    def step(self) -> float:
        """Seconds of steps this boot's stamps have not followed yet (0.0: none)."""
        step = self._watch.check()
        if step:
            log.warning("clock_stepped", by_s=round(step, 3))
            self._pending += step
            self._told = False
        return self._pending

    def apply(self, conn: sqlite3.Connection, by: float) -> None:
        """Move this boot's stamps by `by` (see the class)."""
        now = self._wall()
        outbox.shift_accepted(conn, by, from_seq=self._seq0, floor=self._floor, cap=now)
        records.shift_commands(conn, by, after_rowid=self._cmd0, cap=now)
        if (moved := self._moved(by)) is not None:
            _write(conn, moved)

    def applied(self, by: float) -> None:
        self._pending -= by
        self._record = self._saved = self._moved(by)
        log.info("store_clock_step_applied", by_s=round(by, 3))

    def failed(self, exc: BaseException) -> None:
        """Said once per step: the writer holds new items meanwhile and retries with them."""
        if not self._told:
            self._told = True
            log.warning("store_clock_step_not_applied", error=str(exc), retry="next write")

    def unsaved(self) -> bool:
        """The record should be written: `meta` lacks it (a full disk at open), or the clock has
        slewed a second or more from its offset with no step pending (so that a restart weeks
        later does not take the slewing of those weeks for a step while stopped)."""
        r = self._record
        if r is None or self._pending:
            return False
        return r != self._saved or abs(self._watch.skew - r.skew) >= 1.0

    def save(self, conn: sqlite3.Connection) -> None:
        """Write the record with the offset as it is now; in a transaction, when `unsaved()`.
        What was written counts as saved only once `saved()` is called after the COMMIT."""
        assert self._record is not None
        self._record = BootRecord(self._record.boot_id, self._watch.skew, self._seq0, self._cmd0)
        _write(conn, self._record)

    def saved(self) -> None:
        self._saved = self._record

    def moved_last(self, last_accepted: float, next_seq: int, by: float) -> float:
        """The writer's clamp (the newest stamp) after `apply` moved this boot's stamps by `by`."""
        if next_seq <= self._seq0:  # this boot has no row: the newest stamp is an earlier boot's
            return last_accepted
        return max(self._floor, min(last_accepted + by, self._wall()))

    def _moved(self, by: float) -> BootRecord | None:
        r = self._record
        return None if r is None else BootRecord(r.boot_id, r.skew + by, r.seq0, r.cmd0)


def _write(conn: sqlite3.Connection, record: BootRecord) -> None:
    records.meta_set(conn, META_KEY, json.dumps(asdict(record)))


def _load(conn: sqlite3.Connection) -> BootRecord | None:
    """The stored record, or None when there is none or it is not one (then a new one starts)."""
    text = records.meta_get(conn, META_KEY)
    if text is None:
        return None
    try:
        raw = json.loads(text)
        rec = BootRecord(
            boot_id=str(raw["boot_id"]),
            skew=float(raw["skew"]),
            seq0=int(raw["seq0"]),
            cmd0=int(raw["cmd0"]),
        )
    except (TypeError, ValueError, KeyError):
        return None
    return rec if math.isfinite(rec.skew) else None
