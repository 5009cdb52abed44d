"""Store-and-forward drain: live items first, then the backlog under a token bucket, pipelined.

Items are marked sent only after the broker's PUBACK for the message that carried them. Up to
`max_inflight` messages await their PUBACK at once; items in flight are skipped when the next
chunk is read, so nothing is sent twice within one session. After a drop, unacknowledged items
are simply read again: the consumer deduplicates by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

from drivers.sdk import Logger
from edge_agent.settings.uplink import SyncSettings

from .batching import Batch, make_batches
from .codec import CONTENT_TYPE_JSON, CONTENT_TYPE_ZSTD_BATCH
from .counters import Counters
from .link import Link, Outgoing
from .pacing import TokenBucket
from .ports import UplinkStore
from .topics import Topics

_IDLE_RECHECK_S = 5.0


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
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._inflight: set[str] = set()
        self._unlimited = 0
        self.historical_messages = 0
        self.live_messages = 0

    def wake(self) -> None:
        """New items committed (or a sync was asked for): look at the outbox again."""
        self._wake.set()

    @contextlib.contextmanager
    def unlimited(self) -> Iterator[None]:
        """While held, the backlog drains without the rate limit (`sync now`)."""
        self._unlimited += 1
        self.wake()
        try:
            yield None
        finally:
            self._unlimited -= 1

    async def run(self, link: Link) -> None:
        """Drain until cancelled or the link fails (LinkDown propagates to the reconnect loop)."""
        self._inflight.clear()
        window = asyncio.Semaphore(self._s.max_inflight)
        async with asyncio.TaskGroup() as tg:
            while True:
                self._wake.clear()
                batches, historical = await self._next_chunk()
                if not batches:
                    await self._idle()
                    continue
                for batch in batches:
                    if historical and not await self._paced(len(batch.payload)):
                        break  # live items arrived while we waited for budget: send them first
                    await window.acquire()
                    self._inflight.update(batch.ids)
                    tg.create_task(
                        self._publish(link, batch, historical, window),
                        name=f"uplink.publish[{batch.topic.rsplit('/', 1)[-1]}]",
                    )
                    if historical and self._wake.is_set():
                        break

    async def _next_chunk(self) -> tuple[list[Batch], bool]:
        live_after = self._clock() - self._s.live_window_s
        limit = self._s.fetch_limit + len(self._inflight)
        for historical in (False, True):
            if historical:
                items = await self._store.pending(limit, accepted_before=live_after)
            else:
                items = await self._store.pending(limit, accepted_after=live_after)
            fresh = [i for i in items if i.id not in self._inflight][: self._s.fetch_limit]
            if fresh:
                batches = make_batches(
                    fresh,
                    self._topics,
                    max_batch_bytes=self._s.max_batch_bytes,
                    historical=historical,
                    compression=self._s.compression,
                )
                return batches, historical
        return [], False

    async def _idle(self) -> None:
        """Nothing new to send: wait for a commit, a PUBACK or the periodic recheck."""
        self._progress.clear()
        waits = [asyncio.ensure_future(self._wake.wait())]
        if self._inflight:
            waits.append(asyncio.ensure_future(self._progress.wait()))
        try:
            await asyncio.wait(waits, timeout=_IDLE_RECHECK_S, return_when=asyncio.FIRST_COMPLETED)
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
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
                return False
        return True

    async def _publish(
        self, link: Link, batch: Batch, historical: bool, window: asyncio.Semaphore
    ) -> None:
        try:
            content = (
                CONTENT_TYPE_ZSTD_BATCH if self._s.compression == "zstd" else CONTENT_TYPE_JSON
            )
            await link.publish(Outgoing(batch.topic, batch.payload, content_type=content))
            await self._store.mark_sent(batch.ids)
            self._counters.acked(len(batch.ids), len(batch.payload))
            if historical:
                self.historical_messages += 1
            else:
                self.live_messages += 1
        finally:
            self._inflight.difference_update(batch.ids)
            window.release()
            self._progress.set()
