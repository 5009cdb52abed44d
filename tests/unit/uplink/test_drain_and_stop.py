"""The sender and the stop against an in-memory link (the transport seam) and the real store.

A fake link lets these tests hold PUBACKs back or refuse a topic at will, which a real broker
cannot do on demand; the integration suite repeats the user-visible outcomes with mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog

from edge_agent.commands import CommandRequest, CommandResult
from edge_agent.settings.root import Settings
from edge_agent.settings.store import StoreSettings
from edge_agent.settings.uplink import SyncSettings
from edge_agent.store import (
    DB_FILENAME,
    ItemClass,
    NewItem,
    Store,
    StoredItem,
    StoreError,
    StoreErrorReason,
)
from edge_agent.uplink import Incoming, Outgoing, Uplink, refusals
from edge_agent.uplink.counters import Counters
from edge_agent.uplink.errors import PublishRefused
from edge_agent.uplink.sender import Sender
from edge_agent.uplink.topics import Topics

TOPICS = Topics.for_agent("edge/v1", "wf-001", "ipc-1")
HOUR = 3600.0


class FakeLink:
    """Acknowledges at once, or never (`frozen`), or refuses the topics in `deny`."""

    def __init__(self, *, frozen: bool = False, deny: Sequence[str] = ()) -> None:
        self.published: list[Outgoing] = []
        self.frozen, self.deny = frozen, set(deny)
        self.clean = False
        self.disconnect_reason: int | None = None  # no DISCONNECT from the broker

    async def publish(self, message: Outgoing) -> None:
        if self.frozen:
            await asyncio.Event().wait()  # no PUBACK, ever
        if message.topic in self.deny:
            raise PublishRefused(message.topic, 0x87, "Not authorized")
        self.published.append(message)

    async def subscribe(self, topic_filter: str) -> None:
        return None

    async def incoming(self) -> AsyncIterator[Incoming]:
        await asyncio.Event().wait()
        yield Incoming("", b"")  # pragma: no cover - never reached

    def leave_cleanly(self) -> None:
        self.clean = True

    def abort(self) -> None:
        return None


class CountingStore:
    """The real store, counting the reads of the backlog (accepted before the live window)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.backlog_reads = 0
        self.reads = 0

    async def pending(self, limit: int, **bounds: Any) -> list[StoredItem]:
        self.reads += 1
        if bounds.get("accepted_before") is not None:
            self.backlog_reads += 1
        return await self._store.pending(limit, **bounds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@contextlib.asynccontextmanager
async def opened(tmp_path: Path, offset: list[float]) -> AsyncIterator[Store]:
    store = Store(tmp_path / DB_FILENAME, StoreSettings(), clock=lambda: time.time() + offset[0])
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def items(n: int, kind: str = "footfall") -> list[NewItem]:
    return [
        NewItem(cls=ItemClass.EVENT, kind=kind, device="cam-1", ts=time.time(), data={"n": i})
        for i in range(n)
    ]


async def put_old(store: Store, offset: list[float], batch: list[NewItem]) -> list[StoredItem]:
    offset[0] = -HOUR  # accepted an hour ago: backlog
    try:
        return await store.put(batch)
    finally:
        offset[0] = 0.0


async def test_live_traffic_does_not_make_the_sender_reread_the_backlog(tmp_path: Path) -> None:
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        await put_old(store, offset, items(3_000))
        counting = CountingStore(store)
        sync = SyncSettings(
            backlog_rate_msgs=30, backlog_burst_s=0.1, max_batch_bytes=1024, fetch_limit=5_000
        )
        log = structlog.get_logger()
        sender = Sender(counting, TOPICS, sync, Counters(counting, time.time), log, clock=time.time)  # type: ignore[arg-type]
        store.add_commit_listener(lambda _: sender.wake())
        link = FakeLink()
        task = asyncio.create_task(sender.run(link))
        live: set[str] = set()
        for _ in range(60):  # a sensor committing every 10 ms while the backlog drains
            live |= {i.id for i in await store.put(items(1, kind="queue"))}
            await asyncio.sleep(0.01)
        async with asyncio.timeout(10):
            while not live <= {i for m in link.published for i in _ids(m)}:
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sender.historical_messages > 5  # the backlog really was draining meanwhile
    assert counting.backlog_reads == 1  # one page read and encoded, kept across 60 wakes


async def test_a_refused_topic_is_held_back_and_the_others_still_go(tmp_path: Path) -> None:
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        denied = {i.id for i in await store.put(items(20, kind="denied"))}
        allowed = {i.id for i in await store.put(items(20))}
        log = structlog.get_logger()
        sender = Sender(
            store, TOPICS, SyncSettings(), Counters(store, time.time), log, clock=time.time
        )
        link = FakeLink(deny=[TOPICS.root + "/events/denied"])
        task = asyncio.create_task(sender.run(link))
        async with asyncio.timeout(10):  # until the allowed kind is PUBACKed and marked sent
            while not allowed <= {i for m in link.published for i in _ids(m)} or (
                {i.id for i in await store.pending(100)} != denied
            ):
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        unsent = {i.id for i in await store.pending(100)}
    assert unsent == denied  # kept for later, never marked sent
    [report] = sender.refusals.report()
    assert report["topic"].endswith("/events/denied") and report["reason_code"] == 0x87


async def test_more_refused_items_than_the_sender_remembers_do_not_stall_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refusals, "MAX_HELD_IDS", 5)  # stands for 200,000 denied readings
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        denied = {i.id for i in await put_old(store, offset, items(600, kind="denied"))}
        allowed = {i.id for i in await store.put(items(20))}
        counting = CountingStore(store)
        log = structlog.get_logger()
        sync = SyncSettings(fetch_limit=100)
        sender = Sender(counting, TOPICS, sync, Counters(counting, time.time), log, clock=time.time)  # type: ignore[arg-type]
        store.add_commit_listener(lambda _: sender.wake())
        link = FakeLink(deny=[TOPICS.root + "/events/denied"])
        task = asyncio.create_task(sender.run(link))
        async with asyncio.timeout(10):
            while not allowed <= {i for m in link.published for i in _ids(m)}:
                await asyncio.sleep(0.01)
        reads_then = counting.reads
        await asyncio.sleep(0.5)  # a spinning sender would read the outbox hundreds of times here
        spun = counting.reads - reads_then
        later = {i.id for i in await store.put(items(5))}  # a sensor goes on reporting
        async with asyncio.timeout(3):  # and its items still go out
            while not later <= {i for m in link.published for i in _ids(m)}:
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        unsent = {i.id for i in await store.pending(1_000)}
    assert spun <= 2
    assert unsent == denied  # kept for the retry, none marked sent


async def test_a_wall_clock_step_back_sends_no_backlog_item_twice(tmp_path: Path) -> None:
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        await put_old(store, offset, items(2_000))
        shift = [0.0]
        sync = SyncSettings(backlog_rate_msgs=20, backlog_burst_s=0.1, max_batch_bytes=1024)
        log = structlog.get_logger()
        sender = Sender(
            store,
            TOPICS,
            sync,
            Counters(store, time.time),
            log,
            clock=lambda: time.time() + shift[0],
        )
        store.add_commit_listener(lambda _: sender.wake())
        link = FakeLink()
        task = asyncio.create_task(sender.run(link))
        async with asyncio.timeout(10):
            while sender.historical_messages < 3:  # the backlog page is read and draining
                await asyncio.sleep(0.01)
        shift[0] = -2 * HOUR  # NTP steps the clock back: the backlog now looks live
        await store.put(items(1))  # a commit wakes the live read
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                while await store.pending(5_000):
                    await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    sent = [i for m in link.published for i in _ids(m)]
    assert len(sent) > 100
    assert len(sent) == len(set(sent))  # each item once within the session


class FullDiskStore:
    """The real store, but its first `fail` writes of meta or sent marks hit a full disk."""

    def __init__(self, store: Store, fail: int) -> None:
        self._store, self.fail = store, fail
        self.marks = 0

    def _full(self) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise StoreError(StoreErrorReason.DISK_FULL, "database or disk is full")

    async def mark_sent(self, ids: Sequence[str]) -> int:
        self.marks += 1
        self._full()
        return await self._store.mark_sent(ids)

    async def meta_set(self, key: str, value: str) -> None:
        self._full()
        await self._store.meta_set(key, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_items_acknowledged_while_the_disk_is_full_are_not_sent_again(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, [0.0]) as store:
        ids = [i.id for i in await store.put(items(300))]
        full = FullDiskStore(store, fail=3)
        log = structlog.get_logger()
        sync = SyncSettings(max_batch_bytes=2_000)  # many messages, so several marks fail
        sender = Sender(full, TOPICS, sync, Counters(full, time.time), log, clock=time.time)  # type: ignore[arg-type]
        link = FakeLink()
        task = asyncio.create_task(sender.run(link))
        async with asyncio.timeout(10):  # once the disk has room, every item is marked sent
            while await store.pending(1_000):
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert not task.done()  # the session went on through the failed writes
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    sent = [i for m in link.published for i in _ids(m)]
    assert full.fail == 0  # the disk really was full for three marks
    assert sorted(sent) == sorted(ids)  # each item went out once


async def test_a_full_disk_at_connect_does_not_keep_the_uplink_from_draining(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate(
        {"agent": {"branch_id": "wf-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)}}
    )
    link = FakeLink()
    async with opened(tmp_path, [0.0]) as store:
        ids = {i.id for i in await store.put(items(20))}
        full = FullDiskStore(store, fail=1_000)  # every session-number and counter save fails
        full.mark_sent = store.mark_sent  # type: ignore[method-assign]
        uplink = Uplink(
            settings, full, Router(), health=dict, config_hash="c", version="v",  # type: ignore[arg-type]
            connector=Connector(link),  # type: ignore[arg-type]
        )  # fmt: skip
        task = asyncio.create_task(uplink.run())
        async with asyncio.timeout(10):
            while not ids <= {i for m in link.published for i in _ids(m) if "/events/" in m.topic}:
                await asyncio.sleep(0.02)
        assert uplink.status()["connected"]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class StaleReadStore:
    """The real store, but its second outbox read hands back what it saw before a PUBACK that
    landed while the read was still running (SQLite snapshot first, `mark_sent` after)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.reads = 0
        self.read_taken, self.marked = asyncio.Event(), asyncio.Event()

    async def pending(self, limit: int, **bounds: Any) -> list[StoredItem]:
        self.reads += 1
        snapshot = await self._store.pending(limit, **bounds)
        if self.reads == 2:
            self.read_taken.set()
            await self.marked.wait()
            await asyncio.sleep(0.05)  # the publish task finishes: no longer in flight
        return snapshot

    async def mark_sent(self, ids: Sequence[str]) -> int:
        count = await self._store.mark_sent(ids)
        self.marked.set()
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class GatedLink(FakeLink):
    """Holds the first PUBACK back until the store has taken its stale snapshot."""

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__()
        self.gate = gate

    async def publish(self, message: Outgoing) -> None:
        await self.gate.wait()
        await super().publish(message)


async def test_an_item_acknowledged_during_an_outbox_read_is_not_sent_again(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path, [0.0]) as store:
        ids = [i.id for i in await store.put(items(5))]
        stale = StaleReadStore(store)
        log = structlog.get_logger()
        sender = Sender(
            stale, TOPICS, SyncSettings(), Counters(stale, time.time), log, clock=time.time
        )  # type: ignore[arg-type]
        link = GatedLink(stale.read_taken)
        task = asyncio.create_task(sender.run(link))
        async with asyncio.timeout(10):
            while await store.pending(100) or stale.reads < 3:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for a duplicate to go out, if one were coming
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    sent = [i for m in link.published for i in _ids(m)]
    assert sorted(sent) == sorted(ids)  # each event once: no resend on a healthy link


class Connector:
    def __init__(self, link: FakeLink) -> None:
        self.link = link

    @contextlib.asynccontextmanager
    async def connect(self, will: Outgoing) -> AsyncIterator[FakeLink]:
        yield self.link


class Router:
    def add_agent_action(self, name: str, action: Any) -> None:
        return None

    async def execute(self, request: CommandRequest) -> CommandResult:  # pragma: no cover
        raise NotImplementedError


@contextlib.asynccontextmanager
async def connected_uplink(
    store: Store, link: FakeLink, tmp_path: Path, sync: dict[str, Any] | None = None
) -> AsyncIterator[Uplink]:
    """An Uplink running over `link` and connected; cancelled on the way out."""
    settings = Settings.model_validate(
        {
            "agent": {"branch_id": "wf-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)},
            "uplink": {"sync": sync or {}},
        }
    )
    uplink = Uplink(
        settings, store, Router(), health=dict, config_hash="c", version="v",
        connector=Connector(link),  # type: ignore[arg-type]
    )  # fmt: skip
    task = asyncio.create_task(uplink.run())
    try:
        async with asyncio.timeout(10):
            while not uplink.status()["connected"]:
                await asyncio.sleep(0.01)
        yield uplink
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_sync_now_ends_when_only_refused_items_are_left(tmp_path: Path) -> None:
    link = FakeLink(deny=[TOPICS.root + "/events/denied"])
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        await put_old(store, offset, items(30, kind="denied") + items(30))
        async with connected_uplink(store, link, tmp_path) as uplink, asyncio.timeout(10):
            steps = [p async for p in uplink.sync_now()]  # polled until the refusal lifted
    last = steps[-1]
    assert last["remaining"] == 30 and not last["done"]
    assert last["refused"] == [TOPICS.root + "/events/denied"]


async def test_a_sync_now_client_that_goes_away_puts_the_rate_limit_back_at_once(
    tmp_path: Path,
) -> None:
    offset = [0.0]
    async with opened(tmp_path, offset) as store:
        await put_old(store, offset, items(3_000))
        sync = {"backlog_rate_msgs": 1, "max_batch_bytes": 1024}
        async with connected_uplink(store, FakeLink(), tmp_path, sync) as uplink:
            progress = uplink.sync_now()
            first = await anext(progress)
            assert first["remaining"] > 0 and uplink.sender.unlimited_holders == 1
            await progress.aclose()  # `edge-agent sync now` interrupted with Ctrl-C
            assert uplink.sender.unlimited_holders == 0


@pytest.mark.parametrize("acked", [True, False])
async def test_stop_leaves_cleanly_only_after_offline_is_acknowledged(
    tmp_path: Path, acked: bool
) -> None:
    link = FakeLink()
    async with opened(tmp_path, [0.0]) as store, connected_uplink(store, link, tmp_path) as uplink:
        link.frozen = not acked  # a broker that stops answering
        await asyncio.wait_for(uplink.stop(budget_s=0.5), timeout=5)  # returns regardless
    states = [m.payload for m in link.published if m.topic.endswith("/status")]
    if acked:
        assert link.clean and b'"offline"' in states[-1]
    else:  # no goodbye acknowledged: no clean DISCONNECT, so the broker publishes the Will
        assert not link.clean


def _ids(message: Outgoing) -> list[str]:
    from edge_agent.uplink.codec import decode_batch

    if "/events/" not in message.topic:
        return []
    return [e.id for e in decode_batch(message.payload).events]
