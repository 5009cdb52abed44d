"""Store-and-forward drain: live items first, then the backlog under a token bucket, pipelined.

Items are marked sent only after the broker's PUBACK for the message that carried them. Up to
`max_inflight` messages await their PUBACK at once; items in flight, or acknowledged while the
outbox was being read (that read may predate their `mark_sent`), are skipped when the outbox is
read again, so nothing is sent twice within one session. After a drop, unacknowledged items
are simply read again: the consumer deduplicates by id.

The backlog is read and encoded one page (`fetch_limit` items) at a time and kept until it is
sent, so live items arriving every few milliseconds cost one cheap live query each, not a
re-read of the backlog. A topic the broker refuses is held back (refusals.py) and read past.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

from drivers.sdk import Logger
from edge_agent.aio import wait_event
from edge_agent.settings.uplink import SyncSettings
from edge_agent.store.errors import StoreError
from edge_agent.store.items import BacklogStats

from .batching import Batch, make_batches
from .codec import CONTENT_TYPE_JSON, CONTENT_TYPE_ZSTD_BATCH
from .counters import Counters
from .errors import PublishRefused
from .link import Link, Outgoing
from .pacing import TokenBucket
from .ports import UplinkStore
from .refusals import Refusals
from .topics import Topics

_IDLE_RECHECK_S = 5.0
_SYNC_TICK_S = 0.5
#: `sync now` gives up after this many ticks with nothing sent while the broker refuses topics:
#: what is left waits for the refusal's retry, and the rate limit must not stay off meanwhile.
_SYNC_STALL_TICKS = 6
_REMARK_EVERY_S = 5.0  # how often to retry marking acknowledged items sent after a store error


class Sender:
    def __init__(
        self,
        store: UplinkStore,
        topics: Topics,
        settings: SyncSettings,
        counters: Counters,
        log: Logger,
        *,
        clock: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._topics, self._s = store, topics, settings
        self._counters, self._log, self._clock = counters, log, clock
        self.bucket = TokenBucket(
            settings.backlog_rate_msgs,
            settings.backlog_rate_bytes,
            burst_s=settings.backlog_burst_s,
            clock=monotonic,
        )
        self.refusals = Refusals(log, clock=clock, monotonic=monotonic)
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._inflight: set[str] = set()
        #: Ids whose publish finished during the outbox read in progress (None: no read running).
        self._settled_in_read: set[str] | None = None
        #: Acknowledged by the broker, but the store could not mark them sent (a full disk):
        #: skipped by every read and marked again later, so they do not go out again.
        self._unmarked: set[str] = set()
        self._remark_at = 0.0
        self._monotonic = monotonic
        self._backlog: deque[Batch] = deque()
        self._queued: set[str] = set()  # the ids in `_backlog`, kept in step with it
        self._unlimited = 0
        self.historical_messages = 0
        self.live_messages = 0
        #: Outbox reads of the backlog (each one reads and encodes up to `fetch_limit` items).
        self.backlog_reads = 0

    def wake(self) -> None:
        """New items committed (or a sync was asked for): look at the outbox again."""
        self._wake.set()

    @property
    def unlimited_holders(self) -> int:
        """How many `sync now` drains are running (the rate limit is off while any is)."""
        return self._unlimited

    @contextlib.contextmanager
    def unlimited(self) -> Iterator[None]:
        """While held, the backlog drains without the rate limit (`sync now`)."""
        self._unlimited += 1
        self.wake()
        try:
            yield None
        finally:
            self._unlimited -= 1

    async def drain_now(
        self, connected: Callable[[], bool]
    ) -> AsyncGenerator[tuple[BacklogStats, dict[str, Any]], None]:
        """`sync now`: drain without the rate limit, yielding the backlog and a progress line
        ({sent, remaining, connected, refused, done}) every tick until the backlog is empty.

        Not connected: one line with `connected: false`, then return. When only items of topics
        the broker refuses are left (`refused` lists them), stop once nothing has gone out for a
        few ticks.
        """
        start = last_sent = self._counters.items_sent
        idle_ticks = 0
        with self.unlimited():
            while True:
                stats = await self._store.stats()
                up = connected()
                sent_now = self._counters.items_sent
                idle_ticks = idle_ticks + 1 if sent_now == last_sent else 0
                last_sent = sent_now
                refused = [r["topic"] for r in self.refusals.report()]
                yield (
                    stats,
                    {
                        "sent": sent_now - start,
                        "remaining": stats.depth,
                        "connected": up,
                        "refused": refused,
                        "done": stats.depth == 0,
                    },
                )
                stuck = bool(refused) and idle_ticks >= _SYNC_STALL_TICKS
                if stats.depth == 0 or not up or stuck:
                    return
                await asyncio.sleep(_SYNC_TICK_S)

    async def run(self, link: Link) -> None:
        """Drain until cancelled or the link fails (LinkDown propagates to the reconnect loop)."""
        self._inflight.clear()
        self._backlog.clear()  # read again: what was in flight in the last session is unsent
        self._queued.clear()
        window = asyncio.Semaphore(self._s.max_inflight)
        look_live = True
        async with asyncio.TaskGroup() as tg:

            def send(batch: Batch, historical: bool) -> None:
                self._inflight.update(batch.ids)
                tg.create_task(
                    self._publish(link, batch, historical, window),
                    name=f"uplink.publish[{batch.topic.rsplit('/', 1)[-1]}]",
                )

            while True:
                look_live = look_live or self._wake.is_set()
                self._wake.clear()
                if look_live:
                    look_live = False
                    live = await self._read(historical=False)
                    if live:
                        for batch in live:
                            if self.refusals.admit(batch.topic):
                                await window.acquire()
                                send(batch, False)
                            else:
                                self.refusals.hold(batch.topic, batch.ids, batch.keys)
                        look_live = True  # more may have come meanwhile
                        continue
                head = await self._next_backlog_batch()
                if head is None:
                    await self._idle()
                    look_live = True
                    continue
                if not await self._paced(len(head.payload)):
                    continue  # woken while waiting for budget: live items may go first
                self._pop_backlog()
                if not self.refusals.admit(head.topic):
                    self.refusals.hold(head.topic, head.ids, head.keys)
                    continue
                await window.acquire()
                send(head, True)

    async def _next_backlog_batch(self) -> Batch | None:
        """The head of the encoded backlog page, reading the next page when it is used up."""
        while True:
            while self._backlog:
                head = self._backlog[0]
                if not self.refusals.blocked(head.topic):
                    return head
                self.refusals.hold(head.topic, head.ids, head.keys)
                self._pop_backlog()
            page = await self._read(historical=True)
            if not page:
                return None
            self._backlog.extend(page)
            for batch in page:
                self._queued.update(batch.ids)

    def _pop_backlog(self) -> None:
        self._queued.difference_update(self._backlog.popleft().ids)

    async def _read(self, *, historical: bool) -> list[Batch]:
        """Unsent items not in flight and not held back, live or backlog, as encoded batches."""
        self.refusals.release_due()
        await self._remark()
        live_after = self._clock() - self._s.live_window_s
        limit = self._s.fetch_limit + len(self._inflight) + self.refusals.held + len(self._unmarked)
        settled: set[str] = set()
        self._settled_in_read = settled
        leave_out = self.refusals.excluded()
        try:
            if historical:
                self.backlog_reads += 1
                items = await self._store.pending(
                    limit, accepted_before=live_after, exclude=leave_out
                )
            else:
                items = await self._store.pending(
                    limit, accepted_after=live_after, exclude=leave_out
                )
        finally:
            self._settled_in_read = None
        # Skip what is in flight, settled during the read, acknowledged but not yet marked, held
        # back, and (live reads) what waits in the encoded backlog page: after the wall clock
        # steps back a live read returns those too, and they would go out twice. Membership
        # tests, not set unions: a page holds 20,000 ids and live reads come many a second.
        skips = [self._inflight, settled, self._unmarked]
        if not historical:
            skips.append(self._queued)
        fresh = [
            i
            for i in items
            if not any(i.id in ids for ids in skips) and not self.refusals.is_held(i.id)
        ][: self._s.fetch_limit]
        if not fresh:
            return []
        return make_batches(
            fresh,
            self._topics,
            max_batch_bytes=self._s.max_batch_bytes,
            historical=historical,
            compression=self._s.compression,
        )

    async def _remark(self) -> None:
        """Retry marking sent what the broker acknowledged while the store could not write."""
        if not self._unmarked or self._monotonic() < self._remark_at:
            return
        self._remark_at = self._monotonic() + _REMARK_EVERY_S
        ids = list(self._unmarked)
        try:
            await self._store.mark_sent(ids)
        except StoreError:
            return
        self._unmarked.difference_update(ids)
        self._log.info("uplink_mark_sent_recovered", items=len(ids))

    async def _idle(self) -> None:
        """Nothing new to send: wait for a commit, a PUBACK, a held-back topic's retry time or
        the periodic recheck."""
        self._progress.clear()
        waits = [asyncio.ensure_future(self._wake.wait())]
        if self._inflight:
            waits.append(asyncio.ensure_future(self._progress.wait()))
        try:
            retry = self.refusals.next_retry_in()
            timeout = _IDLE_RECHECK_S if retry is None else min(_IDLE_RECHECK_S, retry + 0.01)
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _paced(self, nbytes: int) -> bool:
        """Wait for backlog budget. False when woken early (maybe live items to send first)."""
        while not self._unlimited:
            delay = self.bucket.delay_for(nbytes)
            if delay <= 0:
                self.bucket.take(nbytes)
                return True
            if self._wake.is_set():
                return False
            if await wait_event(self._wake, delay):
                return False
        return True

    async def _publish(
        self, link: Link, batch: Batch, historical: bool, window: asyncio.Semaphore
    ) -> None:
        try:
            content = (
                CONTENT_TYPE_ZSTD_BATCH if self._s.compression == "zstd" else CONTENT_TYPE_JSON
            )
            try:
                await link.publish(Outgoing(batch.topic, batch.payload, content_type=content))
            except PublishRefused as exc:  # this topic only; the session is fine
                self.refusals.refused(exc, batch.ids, batch.keys)
                return
            self.refusals.accepted(batch.topic)
            try:
                await self._store.mark_sent(batch.ids)
            except StoreError as exc:  # acknowledged all the same: never send these again
                if not self._unmarked:
                    self._log.warning(
                        "uplink_mark_sent_failed",
                        reason=exc.reason.value,
                        error=exc.message,
                        detail="acknowledged items are kept aside and marked once the store can",
                    )
                self._unmarked.update(batch.ids)
            self._counters.acked(len(batch.ids), len(batch.payload))
            if historical:
                self.historical_messages += 1
            else:
                self.live_messages += 1
        finally:
            self._inflight.difference_update(batch.ids)
            if self._settled_in_read is not None:
                self._settled_in_read.update(batch.ids)
            window.release()
            self._progress.set()
