"""Store-and-forward against a real broker: batching, PUBACK => sent, restarts, live-first, rate limit."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge_agent.store.items import ItemClass
from edge_agent.uplink.codec import decode_batch
from tests.integration.uplink.conftest import ROOT, make_settings, running_uplink
from tests.integration.uplink.hq import HQ
from tests.integration.uplink.standins import MemoryStore, events
from tests.support.mosquitto import Mosquitto


async def wait_until(pred, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.02)


async def test_live_events_arrive_batched_by_topic_and_are_marked_sent(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    store = MemoryStore()
    async with running_uplink(make_settings(broker, tmp_path), store=store) as run:
        await run.wait_connected()
        ids = [i.id for i in store.add(events(300))]
        ids += [i.id for i in store.add(events(5, kind="occupancy", cls=ItemClass.SUMMARY))]
        ids += [i.id for i in store.add(events(7, kind="co2", cls=ItemClass.READING))]
        await wait_until(lambda: store.depth() == 0)
    assert set(hq.event_ids()) == set(ids)
    batches = [m for m in hq.snapshot() if "/events/" in m.topic or "/summaries/" in m.topic]
    assert {m.topic.removeprefix(ROOT + "/") for m in batches} == {
        "events/footfall",
        "summaries/occupancy",
        "events/reading",
    }
    assert len(batches) < 20  # many events per message
    assert not any(decode_batch(m.payload).historical for m in batches)


async def test_zstd_batches_carry_the_same_events(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    store = MemoryStore()
    async with running_uplink(
        make_settings(broker, tmp_path, sync={"compression": "zstd"}), store=store
    ) as run:
        await run.wait_connected()
        ids = [i.id for i in store.add(events(200))]
        await wait_until(lambda: store.depth() == 0)
    msgs = [m for m in hq.snapshot() if "/events/" in m.topic]
    assert all(m.json()["encoding"] == "zstd" and m.content_type for m in msgs)
    assert sorted(hq.event_ids()) == sorted(ids)


async def test_broker_restart_during_heavy_drain_loses_no_event(
    broker: Mosquitto, tmp_path: Path
) -> None:
    # HQ keeps a persistent session so messages the broker acknowledged survive its restart.
    hq = HQ(broker.port, topic=f"{ROOT}/events/#", client_id="hq-durable", clean=False)
    store = MemoryStore()
    accepted = [i.id for i in store.add(events(60_000), accepted_at=time.time() - 3600)]
    settings = make_settings(
        broker,
        tmp_path,
        sync={"max_batch_bytes": 8_000, "backlog_rate_msgs": 10_000, "backlog_rate_bytes": 1e9},
    )
    try:
        async with running_uplink(settings, store=store) as run:
            await wait_until(lambda: len(store.sent) > 5_000)
            assert store.depth() > 0, (
                "the drain finished before the restart; make the backlog bigger"
            )
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(broker.start)
            await wait_until(lambda: store.depth() == 0, timeout=60)
            assert run.uplink.status()["session"] >= 2  # it really reconnected
        await wait_until(lambda: set(accepted) <= set(hq.event_ids()), timeout=30)
    finally:
        hq.close()


async def test_reconnects_within_two_seconds_of_the_broker_returning(
    broker: Mosquitto, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await run.wait_connected()
        await asyncio.to_thread(broker.stop)
        await wait_until(lambda: not run.uplink.status()["connected"])
        await asyncio.sleep(3)  # several failed attempts push the backoff to its cap
        await asyncio.to_thread(broker.start)
        await run.wait_connected(timeout=2.5)


async def test_live_data_overtakes_the_rate_limited_backlog(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    rate = 5.0
    settings = make_settings(
        broker, tmp_path,
        sync={
            "max_batch_bytes": 1_024,
            "backlog_rate_msgs": rate,
            "backlog_rate_bytes": 1e9,
            "backlog_burst_s": 1,
            "live_window_s": 30,
        },
    )  # fmt: skip
    store = MemoryStore()
    # Accepted while the link was down, an hour ago: this is backlog.
    backlog = {i.id for i in store.add(events(400), accepted_at=time.time() - 3600)}
    started = time.monotonic()
    async with running_uplink(settings, store=store) as run:
        await wait_until(lambda: run.uplink.sender.historical_messages >= 3)
        live = {i.id for i in store.add(events(3, kind="queue"))}
        await wait_until(lambda: live <= set(hq.event_ids()))
        elapsed = time.monotonic() - started
        assert store.depth() > 0 and backlog & {i.id for i in await store.pending(10_000)}, (
            "backlog should still be draining"
        )
        sent_hist = run.uplink.sender.historical_messages
    live_msgs = [m for m in hq.snapshot() if m.topic.endswith("/events/queue")]
    assert live_msgs and not any(decode_batch(m.payload).historical for m in live_msgs)
    hist = [m for m in hq.snapshot() if m.topic.endswith("/events/footfall")]
    assert all(decode_batch(m.payload).historical for m in hist)
    # Token bucket: at most the burst plus rate x elapsed messages can have gone.
    assert sent_hist <= rate * 1 + rate * elapsed + 1


async def test_sync_now_drains_past_the_rate_limit_and_reports_progress(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    settings = make_settings(
        broker,
        tmp_path,
        sync={"max_batch_bytes": 1_024, "backlog_rate_msgs": 1, "backlog_burst_s": 1},
    )
    store = MemoryStore()
    store.add(events(500), accepted_at=time.time() - 3600)
    async with running_uplink(settings, store=store) as run:
        await run.wait_connected()
        progress = [p async for p in run.uplink.sync_now()]
    assert progress[-1]["remaining"] == 0 and progress[-1]["done"]
    assert progress[-1]["sent"] > 0
    assert store.depth() == 0
