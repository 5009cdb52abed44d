"""The single writer thread: group commit, hold-and-retry on a full disk, and queued write ops.

Why a dedicated thread: SQLite calls block, and the event loop must never wait on a disk. All
writes to the database happen here, on one connection, so seq numbers are assigned in one place
and a transaction that fails can hand its seq numbers back (no gaps among accepted items).

Group commit: items handed over by `submit()` wait at most `commit_interval_ms` (counted from the
first one) or until `commit_max_items` are waiting, then go in one transaction. When a commit
fails (SQLITE_FULL, ENOSPC, I/O error) the items are *held* in memory per class, retried with
backoff, and the error is published for `health`. The hold is bounded by `max_held_items`;
beyond it the oldest items of the lowest class are dropped and counted (reason `overflow`).

Clock steps: `accepted_at` is what the age policy counts from, so when the wall clock is stepped
(NTP putting a stale clock right, see clock.py) this boot's stamps move with it (steps.py), in a
transaction of their own before anything is stamped or aged. Until that has been written, new
items are held and nothing ages out.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import sqlite_utils
import structlog

from ..settings.store import StoreSettings
from . import capacity, outbox, policy
from .checks import Checked
from .clock import Boot, ClockSteps
from .errors import StoreError, StoreErrorReason, as_store_error
from .hold import Entry, HoldQueue
from .ids import UUIDv7
from .items import ItemClass, StoredItem
from .schema import connect, migrate
from .steps import ClockFollower

log = structlog.get_logger("edge_agent.store")

#: A write op runs inside a transaction on the writer's connection.
Op = Callable[[sqlite3.Connection], Any]

_RETRY_FIRST_S = 0.2
_RETRY_MAX_S = 5.0


class WriterEvents(Protocol):
    """How the writer reports back. Every method is called on the writer thread."""

    def progress(
        self, resolved: int, items: list[StoredItem] | None, error: StoreError | None
    ) -> None: ...

    def op_done(self, token: object, result: Any, error: StoreError | None) -> None: ...


class Writer:
    """Owns the write connection. Thread-safe: `submit`, `enqueue_op`, `wake`, `stop`."""

    def __init__(
        self,
        path: str,
        settings: StoreSettings,
        clock: Callable[[], float],
        events: WriterEvents,
        boot: Boot | None = None,
    ) -> None:
        self._path = path
        self._settings = settings
        self._clock = clock
        self._boot = boot  # None: clock steps are not followed (a test's own clock)
        self._events = events
        self.cond = threading.Condition()
        # Guarded by `cond`:
        self.inbox: list[Entry] = []
        self.tickets = 0
        self._first_at = 0.0
        self._ops: deque[tuple[Op, object]] = deque()
        self._urgent = False
        self._stopping = False
        self._idle = False
        self._dead = False
        # Writer thread only (read racily by stats, which tolerates a stale value):
        self.held = HoldQueue(settings.max_held_items)
        self.overflow: dict[ItemClass, int] = dict.fromkeys(ItemClass, 0)
        self.error: StoreError | None = None
        self.want_items = False
        self._retry_at = 0.0
        self._backoff = _RETRY_FIRST_S
        self._next_maintenance = 0.0
        self._conn: sqlite3.Connection | None = None
        self._db: sqlite_utils.Database | None = None
        self._next_seq = 1
        self._last_accepted = 0.0
        self._ids = UUIDv7(clock)
        self._thread: threading.Thread | None = None
        self._opened = threading.Event()
        self._open_error: StoreError | None = None
        self._pending_seq: tuple[int, float] | None = None  # set by insert_now until its COMMIT
        self._steps: ClockFollower | None = None
        self._inflight_low: int | None = None  # oldest ticket taken, not yet committed

    # -- lifecycle (called from the event loop thread) -------------------------------------------

    def start(self) -> None:
        """Start the thread; blocks until the database is open and migrated (call via a thread)."""
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    def stop(self) -> None:
        """Commit what was submitted, then end the thread; blocks (call via a thread)."""
        with self.cond:
            self._stopping = True
            self._urgent = True
            self.cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _refuse_if_dead(self) -> None:
        if self._dead:
            assert self.error is not None
            raise self.error

    def submit(self, item: Checked) -> None:
        with self.cond:
            self._refuse_if_dead()
            self.tickets += 1
            inbox = self.inbox
            if not inbox:
                self._first_at = time.monotonic()
            inbox.append((self.tickets, *item))
            backlog = len(inbox)
            if self._idle and (backlog == 1 or backlog >= self._settings.commit_max_items):
                self.cond.notify()
        if backlog >= 8 * self._settings.commit_max_items:
            # Backpressure for a producer in a tight loop (8 batches waiting): give up the GIL a
            # moment so this thread can commit. Without it a spinning event loop starves the
            # writer, whose executemany must take the GIL back once per row (a GIL convoy).
            time.sleep(0)

    def enqueue_op(self, op: Op, token: object) -> None:
        with self.cond:
            self._refuse_if_dead()
            if self._stopping:
                raise StoreError(StoreErrorReason.CLOSED, "the store is closing")
            self._ops.append((op, token))
            self.cond.notify()

    def wake(self) -> int:
        """Commit what is waiting now (and retry a failing disk now). Returns the last ticket."""
        with self.cond:
            self._refuse_if_dead()
            self._urgent = True
            self._retry_at = 0.0
            self.cond.notify()
            return self.tickets

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._open()
        except BaseException as exc:  # noqa: BLE001 - handed to open() as a StoreError
            self._open_error = as_store_error(exc, f"opening {self._path}")
            self._opened.set()
            return
        started = False
        try:
            self._maintain()  # drop what aged out while we were down, before new items arrive
            started = True
            self._opened.set()
            self._loop()
        except BaseException as exc:  # a bug, not a disk problem: report it, never die silently
            error = as_store_error(exc, "store writer crashed")
            if not started:
                self._open_error = error
            else:
                log.exception("store_writer_crashed", error=str(exc))
                self._die(error)
        finally:
            self._close_conn()
            self._opened.set()

    def _die(self, error: StoreError) -> None:
        """Fail everything queued and refuse new work: callers must see the crash, not hang."""
        with self.cond:
            self.error = error
            self._dead = True
            ops = list(self._ops)
            self._ops.clear()
        for _, token in ops:
            self._events.op_done(token, None, error)
        self._events.progress(0, None, error)

    def _open(self) -> None:
        conn = connect(self._path, synchronous=self._settings.synchronous)
        try:
            migrate(conn)
            self._next_seq = outbox.last_seq(conn) + 1
            self._last_accepted = outbox.last_accepted_at(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._db = sqlite_utils.Database(conn, execute_plugins=False, recursive_triggers=False)
        if self._boot is not None:
            steps = ClockFollower(self._clock, self._boot)
            try:
                with self._db.atomic():
                    steps.open(conn, self._next_seq)
            except (sqlite3.Error, OSError) as exc:  # a full disk must not stop the start
                log.warning("store_clock_record_not_saved", error=str(exc), retry="next write")
            else:
                steps.saved()
            self._steps = steps

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                log.warning("store_close_failed", error=str(exc))
            self._conn = None

    def _loop(self) -> None:
        interval = self._settings.commit_interval_ms / 1000.0
        max_items = self._settings.commit_max_items
        while True:
            with self.cond:
                while not (self._ops or self._stopping):
                    now = time.monotonic()
                    deadlines = [self._next_maintenance]
                    if self.inbox:
                        if self._urgent or len(self.inbox) >= max_items:
                            break
                        deadlines.append(self._first_at + interval)
                    if self.held:
                        if self._urgent:
                            break
                        deadlines.append(self._retry_at)
                    wait = min(deadlines) - now
                    if wait <= 0:
                        break
                    self._idle = True
                    self.cond.wait(wait)
                    self._idle = False
                taken, self.inbox = self.inbox, []
                ops = list(self._ops)
                self._ops.clear()
                urgent, self._urgent = self._urgent, False
                stopping = self._stopping
            self._drain(taken, force=urgent or stopping)
            for op, token in ops:
                self._run_op(op, token)
            if time.monotonic() >= self._next_maintenance:
                self._maintain()
            if stopping:
                with self.cond:
                    more = bool(self.inbox or self._ops)
                if not more:
                    if self.held:
                        log.error(
                            "store_items_lost_on_close",
                            **{f"held_{k}": n for k, n in self.held.by_class().items()},
                        )
                    return

    # -- items -----------------------------------------------------------------------------------

    def _drain(self, taken: list[Entry], *, force: bool) -> None:
        if self.held:
            self._hold(taken)
            if not force and time.monotonic() < self._retry_at:
                self._report_progress(None)
                return
            batch = self.held.take_all()
        else:
            batch = taken
        if not batch:
            return
        size = self._settings.commit_max_items
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            self._inflight_low = chunk[0][0]
            try:
                items = self._commit(chunk)
            except (sqlite3.Error, OSError) as exc:
                self._inflight_low = None
                self._hold(batch[start:])
                self._failed(as_store_error(exc, "committing outbox items"))
                return
            rest = start + size
            self._inflight_low = batch[rest][0] if rest < len(batch) else None
            if self.error is not None:
                log.info("store_writes_recovered", reason=self.error.reason.value)
                self.error = None
                self._backoff = _RETRY_FIRST_S
            self._check_size()  # before flush() returns, so the cap holds when it does
            self._report_progress(items)

    def _commit(self, chunk: list[Entry]) -> list[StoredItem] | None:
        assert self._conn is not None
        assert self._db is not None
        self._follow_clock()  # raises while a step cannot be written: the chunk is held
        rows, now = self._rows(chunk)
        overflow = {c: n for c, n in self.overflow.items() if n}
        with self._db.atomic():
            outbox.insert_rows(self._conn, rows)
            if overflow:
                capacity.add_drops(self._conn, overflow, capacity.DropReason.OVERFLOW)
        for c, n in overflow.items():
            self.overflow[c] -= n
        self._next_seq += len(rows)
        self._last_accepted = now
        if not self.want_items:
            return None
        return [outbox.item_from_insert(r, e[6]) for r, e in zip(rows, chunk, strict=True)]

    def insert_now(self, conn: sqlite3.Connection, entries: list[Entry]) -> list[StoredItem]:
        """A `put()` op: insert inside the op's transaction, hand seq numbers back on failure."""
        rows, now = self._rows(entries)
        outbox.insert_rows(conn, rows)
        # Only reached if the INSERT worked; _run_op rolls back (and we reset) if COMMIT fails.
        self._pending_seq = (self._next_seq + len(rows), now)
        return [outbox.item_from_insert(r, e[6]) for r, e in zip(rows, entries, strict=True)]

    def _rows(self, entries: list[Entry]) -> tuple[list[outbox.Row], float]:
        """Rows with the next seq numbers (taken only once committed), new ids, one time."""
        now = max(self._clock(), self._last_accepted)
        seq0, new_id = self._next_seq, self._ids
        rows: list[outbox.Row] = [
            (seq0 + i, new_id(), e[1], e[2], e[3], e[4], now, e[5]) for i, e in enumerate(entries)
        ]
        return rows, now

    def _hold(self, entries: list[Entry]) -> None:
        dropped = self.held.extend(entries)
        if any(dropped.values()):
            for cls, n in dropped.items():
                self.overflow[cls] += n
            log.warning(
                "store_overflow_dropped", **{f"dropped_{c.label}": n for c, n in dropped.items()}
            )

    def _failed(self, error: StoreError) -> None:
        if self.error is None or self.error.reason != error.reason:
            log.error(
                "store_writes_failing",
                reason=error.reason.value,
                error=error.message,
                held=len(self.held),
            )
        self.error = error
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, _RETRY_MAX_S)
        self._report_progress(None)

    def _resolved(self) -> int:
        """Every ticket up to this one is committed or dropped."""
        with self.cond:
            low = self.inbox[0][0] if self.inbox else self.tickets + 1
        if self._inflight_low is not None:
            low = min(low, self._inflight_low)
        held_low = self.held.low_ticket()
        if held_low is not None:
            low = min(low, held_low)
        return low - 1

    def _report_progress(self, items: list[StoredItem] | None) -> None:
        self._events.progress(self._resolved(), items, self.error)

    # -- ops and maintenance ---------------------------------------------------------------------

    def _run_op(self, op: Op, token: object) -> None:
        assert self._db is not None
        assert self._conn is not None
        self._pending_seq = None
        try:
            self._follow_clock()
            with self._db.atomic():
                result = op(self._conn)
        except StoreError as exc:
            self._events.op_done(token, None, exc)
            return
        except (sqlite3.Error, OSError) as exc:
            self._events.op_done(token, None, as_store_error(exc, "writing to the store"))
            return
        except Exception as exc:  # a bug in one op must not hang its caller or kill the writer
            log.exception("store_op_failed", error=str(exc))
            self._events.op_done(
                token, None, StoreError(StoreErrorReason.IO_ERROR, f"writing to the store: {exc}")
            )
            return
        if self._pending_seq is not None:
            self._next_seq, self._last_accepted = self._pending_seq
            self._check_size()
            if isinstance(result, list) and result:
                self._events.progress(self._resolved(), result, self.error)
        self._events.op_done(token, result, None)

    def _check_size(self) -> None:
        assert self._db is not None
        assert self._conn is not None
        policy.check_size(self._db, self._conn, self._settings)

    def prune_now(
        self, conn: sqlite3.Connection
    ) -> tuple[capacity.DropReport, capacity.DropReport]:
        """A `Store.prune()` op: the age policy, then the size policy, in one transaction."""
        return policy.prune(conn, self._settings, self._clock())

    @property
    def clock_steps(self) -> ClockSteps:
        """Clock steps seen since the store opened (read racily by stats: a stale value is fine)."""
        return ClockSteps() if self._steps is None else self._steps.seen

    def _follow_clock(self) -> None:
        """Move this boot's stamps by any step of the wall clock since the last call (steps.py),
        in a transaction of its own. Raises while that cannot be written (a full disk): nothing
        may be stamped or aged by the stepped clock until it has been."""
        steps = self._steps
        if steps is None:
            return
        assert self._db is not None
        assert self._conn is not None
        by = steps.step()
        if not by:
            if steps.unsaved():
                try:
                    with self._db.atomic():
                        steps.save(self._conn)
                except (sqlite3.Error, OSError):
                    return  # tried again on the next write; stamps are not at stake
                steps.saved()
            return
        try:
            with self._db.atomic():
                steps.apply(self._conn, by)
        except (sqlite3.Error, OSError) as exc:
            steps.failed(exc)
            raise
        steps.applied(by)
        self._last_accepted = steps.moved_last(self._last_accepted, self._next_seq, by)

    def _maintain(self) -> None:
        assert self._db is not None
        assert self._conn is not None
        self._next_maintenance = time.monotonic() + self._settings.maintenance_interval_s
        try:
            self._follow_clock()
        except (sqlite3.Error, OSError):
            return  # nothing ages by a clock the stamps do not follow yet
        policy.maintain(self._db, self._conn, self._settings, self._clock())
