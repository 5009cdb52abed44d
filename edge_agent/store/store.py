"""`Store`: the asyncio face of the outbox. Every SQLite call runs off the event loop.

Writes (items, mark-sent, state, audit, meta) go to the one writer thread (see writer.py); reads
run on a second thread with its own `query_only` connection, which WAL lets read while the writer
commits. An item is *accepted* once its transaction commits; commit listeners hear about it in
the loop right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import structlog

from ..settings.store import StoreSettings
from . import capacity, outbox, records
from .checks import check_item
from .clock import Boot
from .errors import StoreError, StoreErrorReason, as_store_error
from .hold import Entry
from .items import BacklogStats, ItemClass, NewItem, StoredItem
from .policy import log_drops
from .schema import SCHEMA_VERSION, connect
from .writer import Writer

log = structlog.get_logger("edge_agent.store")

T = TypeVar("T")
CommitListener = Callable[[Sequence[StoredItem]], None]


class Store:
    """The SQLite outbox plus device state, command audit and meta. The only database writer."""

    def __init__(
        self,
        path: Path,
        settings: StoreSettings,
        *,
        clock: Callable[[], float] = time.time,
        boot: Boot | None = None,
    ) -> None:
        """`clock` stamps and ages items. Its steps are followed against `boot`, which defaults to
        the kernel's boot clock when `clock` is the real one (see clock.py, steps.py)."""
        self.path = Path(path)
        self._settings = settings
        self._clock = clock
        self._boot = boot or (Boot() if clock is time.time else None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: Writer | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._listeners: list[CommitListener] = []
        self._flush_waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._resolved = 0
        self._open = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the directory, take the data_dir lock, migrate, start the writer."""
        if self._open:
            return
        if self._closed:
            raise StoreError(StoreErrorReason.CLOSED, "a closed Store cannot be reopened")
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._take_lock)
        writer = Writer(str(self.path), self._settings, self._clock, self, self._boot)
        writer.want_items = bool(self._listeners)
        try:
            await asyncio.to_thread(writer.start)
        except BaseException:
            self._release_lock()
            raise
        self._writer = writer
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-reader")
        self._open = True
        log.info("store_opened", path=str(self.path), schema_version=SCHEMA_VERSION)

    async def close(self) -> None:
        """Commit everything submitted so far, then stop. Safe to call twice."""
        if not self._open:
            self._closed = True
            return
        self._open = False
        self._closed = True
        assert self._writer is not None
        assert self._reader is not None
        reader = self._reader
        # Readers go first, so the writer's connection is the last one and checkpoints the WAL.
        await asyncio.get_running_loop().run_in_executor(reader, self._close_read_conn)
        await asyncio.to_thread(reader.shutdown, wait=True)
        await asyncio.to_thread(self._writer.stop)
        self._release_lock()
        while self._flush_waiters:
            _, fut = self._flush_waiters.popleft()
            if not fut.done():
                fut.set_exception(StoreError(StoreErrorReason.CLOSED, "store closed during flush"))
        log.info("store_closed", path=str(self.path), held_lost=len(self._writer.held))

    def _take_lock(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise as_store_error(exc, f"preparing {self.path.parent}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(
                StoreErrorReason.LOCKED,
                f"{self.path} is in use by another process (is a second edge-agent running?)",
            ) from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def _require_writer(self) -> Writer:
        if not self._open or self._writer is None:
            raise StoreError(StoreErrorReason.CLOSED, "the store is not open")
        return self._writer

    @property
    def health(self) -> StoreError | None:
        """The write error in force (e.g. `disk_full`), or None while commits succeed."""
        return self._writer.error if self._writer is not None else None

    def health_reason(self) -> str:
        """`ok`, or the StoreErrorReason value in force (e.g. `disk_full`), for `health`."""
        error = self.health
        return "ok" if error is None else error.reason.value

    # -- writer callbacks (called on the writer thread) ------------------------------------------

    def progress(
        self, resolved: int, items: list[StoredItem] | None, error: StoreError | None
    ) -> None:
        self._call_in_loop(self._on_progress, resolved, items, error)

    def op_done(self, token: object, result: Any, error: StoreError | None) -> None:
        self._call_in_loop(self._settle, token, result, error)

    def _call_in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            loop.call_soon_threadsafe(fn, *args)

    @staticmethod
    def _settle(token: object, result: Any, error: StoreError | None) -> None:
        assert isinstance(token, asyncio.Future)
        if token.done():
            return  # the caller was cancelled; the write still happened (or failed) as reported
        if error is not None:
            token.set_exception(error)
        else:
            token.set_result(result)

    def _on_progress(
        self, resolved: int, items: list[StoredItem] | None, error: StoreError | None
    ) -> None:
        self._resolved = max(self._resolved, resolved)
        if items:
            for fn in list(self._listeners):
                try:
                    fn(items)
                except Exception as exc:  # a listener's bug must not stop the outbox
                    log.exception("store_listener_failed", listener=repr(fn), error=str(exc))
        waiters = self._flush_waiters
        while waiters and waiters[0][0] <= self._resolved:
            _, fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
        if error is not None:
            while waiters:
                _, fut = waiters.popleft()
                if not fut.done():
                    fut.set_exception(error)

    # -- outbox ----------------------------------------------------------------------------------

    def add_commit_listener(self, fn: CommitListener) -> None:
        """`fn(items)` runs in the loop after each commit, in seq order. Keep it quick."""
        self._listeners.append(fn)
        if self._writer is not None:
            self._writer.want_items = True

    def remove_commit_listener(self, fn: CommitListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(fn)
        if self._writer is not None and not self._listeners:
            self._writer.want_items = False

    def submit(self, item: NewItem) -> None:
        """Hand an item over without waiting; it is committed within `commit_interval_ms`.

        Thread-safe, so vision workers may call it from their own threads. Raises
        StoreError(invalid_item) at once for data that is not plain JSON.
        """
        self._require_writer().submit(check_item(item))

    async def put(self, items: Sequence[NewItem]) -> list[StoredItem]:
        """Commit `items` in one transaction and return them as stored. All or nothing."""
        entries: list[Entry] = [(0, *check_item(i)) for i in items]
        if not entries:
            return []
        writer = self._require_writer()
        result: list[StoredItem] = await self._write(lambda conn: writer.insert_now(conn, entries))
        return result

    async def prune(self) -> dict[str, int]:
        """Apply the age and size policies now (the writer also does every maintenance interval).

        Returns the unsent items dropped per class.
        """
        writer = self._require_writer()
        aged, oversize = await self._write(writer.prune_now)
        log_drops(self._settings, aged, oversize)
        return {cls.label: aged.dropped[cls] + oversize.dropped[cls] for cls in ItemClass}

    async def flush(self) -> None:
        """Return once everything submitted before this call is committed.

        Raises the write error (e.g. StoreError(disk_full)) if the commit fails; the items stay
        held in memory and are retried, and calling flush again retries at once.
        """
        marker = self._require_writer().wake()
        if self._resolved >= marker:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flush_waiters.append((marker, fut))
        await fut

    async def pending(
        self,
        limit: int,
        *,
        accepted_after: float | None = None,
        accepted_before: float | None = None,
        exclude: Sequence[tuple[int, str | None]] = (),
    ) -> list[StoredItem]:
        """Unsent items by class priority, then seq. `accepted_after` inclusive, `_before` not;
        `exclude` leaves out (class, kind) rows, or a whole class with kind None."""
        leave_out = list(exclude)
        return await self._read(
            lambda c: outbox.pending(
                c,
                limit,
                accepted_after=accepted_after,
                accepted_before=accepted_before,
                exclude=leave_out,
            ),
            "reading pending items",
        )

    async def mark_sent(self, ids: Sequence[str]) -> int:
        """Record the broker's PUBACK for these ids; returns how many were newly marked."""
        if not ids:
            return 0
        id_list = list(ids)
        now = self._clock()
        count: int = await self._write(lambda c: outbox.mark_sent(c, id_list, now))
        return count

    async def tail(
        self,
        after_seq: int = 0,
        limit: int = 100,
        *,
        kinds: Sequence[str] | None = None,
        device: str | None = None,
        newest: bool = False,
    ) -> list[StoredItem]:
        """Accepted items (sent or not) after `after_seq`, in seq order, for `events tail`: the
        first `limit` of them, or with `newest` the last `limit`."""
        kind_list = None if kinds is None else list(kinds)
        return await self._read(
            lambda c: outbox.tail(
                c, after_seq, limit, kinds=kind_list, device=device, newest=newest
            ),
            "reading the event tail",
        )

    async def stats(self) -> BacklogStats:
        """Backlog depth, age and drops for `health`; includes the write error if any."""

        def query(c: sqlite3.Connection) -> tuple[Any, ...]:
            return outbox.unsent_by_class(c), capacity.drop_counts(c), outbox.last_seq(c)

        unsent, drops, last = await self._read(query, "reading backlog figures")
        writer = self._require_writer()
        oldest = [t for _, t in unsent.values() if t is not None]
        error = writer.error
        return BacklogStats(
            depth=sum(n for n, _ in unsent.values()),
            depth_by_class={cls.label: n for cls, (n, _) in unsent.items()},
            oldest_age_s=max(self._clock() - min(oldest), 0.0) if oldest else None,
            dropped_by_class={cls.label: drops[cls] + writer.overflow[cls] for cls in ItemClass},
            accepted_total=last,
            last_seq=last,
            db_size_bytes=self._db_size(),
            held_in_memory=len(writer.held),
            error=None if error is None else error.reason.value,
            error_message=None if error is None else error.message,
            clock_steps=writer.clock_steps,
        )

    def _db_size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_size
        return total

    # -- device state, commands, meta ------------------------------------------------------------

    async def save_device_state(self, device_id: str, state: dict[str, Any]) -> None:
        text = records.dumps(state, f"state of {device_id}")
        now = self._clock()
        await self._write(lambda c: records.save_device_state(c, device_id, text, now))

    async def device_states(self) -> dict[str, dict[str, Any]]:
        return await self._read(records.device_states, "reading device states")

    async def delete_device_state(self, device_id: str) -> None:
        await self._write(lambda c: records.delete_device_state(c, device_id))

    async def command_get(self, command_id: str) -> dict[str, Any] | None:
        """The audit row of a command id (for replays), or None if never seen."""
        return await self._read(lambda c: records.command_get(c, command_id), "reading a command")

    async def command_record(
        self, request: dict[str, Any], result: dict[str, Any], *, received_at: float | None = None
    ) -> None:
        """Audit a finished command. The first record for an id wins; a replay never overwrites."""
        row = records.command_row(request, result, received_at=received_at, now=self._clock())
        await self._write(lambda c: records.command_record(c, row))

    async def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest commands first."""
        return await self._read(lambda c: records.audit(c, limit), "reading the audit trail")

    async def meta_get(self, key: str) -> str | None:
        return await self._read(lambda c: records.meta_get(c, key), "reading meta")

    async def meta_set(self, key: str, value: str) -> None:
        await self._write(lambda c: records.meta_set(c, key, value))

    # -- plumbing --------------------------------------------------------------------------------

    async def _write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        writer = self._require_writer()
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        writer.enqueue_op(op, fut)
        return await fut

    async def _read(self, fn: Callable[[sqlite3.Connection], T], doing: str) -> T:
        self._require_writer()
        assert self._reader is not None
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, self._read_call, fn, doing
        )

    def _read_call(self, fn: Callable[[sqlite3.Connection], T], doing: str) -> T:
        try:
            if self._read_conn is None:
                self._read_conn = connect(
                    self.path, synchronous=self._settings.synchronous, query_only=True
                )
            return fn(self._read_conn)
        except (sqlite3.Error, OSError) as exc:
            raise as_store_error(exc, doing) from exc

    def _close_read_conn(self) -> None:
        if self._read_conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._read_conn.close()
            self._read_conn = None
