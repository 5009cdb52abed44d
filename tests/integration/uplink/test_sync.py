"""Store-and-forward from the real SQLite store to a real broker: batching, PUBACK => sent,
broker restarts, live before backlog, the rate limit and `sync now`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge_agent.store import ItemClass
from edge_agent.uplink.codec import decode_batch
from tests.integration.uplink.hq import HQ
from tests.integration.uplink.wiring import (
    ROOT,
    events,
    make_settings,
    open_branch,
    running_uplink,
    wait_until,
)
from tests.support.mosquitto import Mosquitto

HOUR = 3600.0


async def test_live_events_arrive_batched_by_topic_and_are_marked_sent(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await run.wait_connected()
        ids = [i.id for i in await run.branch.put(events(300))]
        ids += [
            i.id for i in await run.branch.put(events(5, kind="occupancy", cls=ItemClass.SUMMARY))
        ]
        ids += [i.id for i in await run.branch.put(events(7, kind="co2", cls=ItemClass.READING))]
        await wait_until(lambda: run.branch.depth_below(1))
        unsent = await run.store.pending(10_000)
    assert unsent == []
    # PUBACK (=> sent) comes from the broker; HQ's copy may still be on its way.
    await hq.wait_for(lambda _: set(ids) <= set(hq.event_ids()))
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
    settings = make_settings(broker, tmp_path, sync={"compression": "zstd"})
    async with running_uplink(settings) as run:
        await run.wait_connected()
        ids = [i.id for i in await run.branch.put(events(200))]
        await wait_until(lambda: run.branch.depth_below(1))
    await hq.wait_for(lambda _: set(ids) <= set(hq.event_ids()))
    msgs = [m for m in hq.snapshot() if "/events/" in m.topic]
    assert all(m.json()["encoding"] == "zstd" and m.content_type for m in msgs)
    assert sorted(hq.event_ids()) == sorted(ids)


async def test_broker_restart_during_heavy_drain_loses_no_event(
    broker: Mosquitto, tmp_path: Path
) -> None:
    # HQ keeps a persistent session so messages the broker acknowledged survive its restart.
    hq = HQ(broker.port, topic=f"{ROOT}/events/#", client_id="hq-durable", clean=False)
    total = 30_000
    # ~60 events a message at 50 messages/s (plus a 2 s burst): 3,000 events/s at most, so the
    # backlog cannot be gone yet when the broker goes down after the first 3,000.
    settings = make_settings(
        broker,
        tmp_path,
        sync={"max_batch_bytes": 8_000, "backlog_rate_msgs": 50, "backlog_rate_bytes": 1e9},
    )
    try:
        async with open_branch(settings) as branch:
            accepted = {i.id for i in await branch.put(events(total), age_s=HOUR)}
            async with running_uplink(settings, branch) as run:
                await wait_until(lambda: branch.depth_below(total - 3_000))
                await asyncio.to_thread(broker.stop)
                assert await branch.depth() > 0
                await asyncio.sleep(0.3)
                await asyncio.to_thread(broker.start)
                live = {i.id for i in await branch.put(events(5, kind="queue"))}
                await run.wait_connected(timeout=10)
                async for _ in run.uplink.sync_now():  # the rest at full speed
                    pass
                await wait_until(lambda: branch.depth_below(1), timeout=60)
                assert run.uplink.status()["session"] >= 2  # it really reconnected
        await wait_until(lambda: (accepted | live) <= set(hq.event_ids()), timeout=30)
    finally:
        hq.close()


async def test_reconnects_once_the_broker_returns(broker: Mosquitto, tmp_path: Path) -> None:
    # How fast (about 2 s at most) is measured by `python -m bench uplink`, not asserted here.
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await run.wait_connected()
        await asyncio.to_thread(broker.stop)
        await wait_until(lambda: not run.uplink.status()["connected"])
        await asyncio.sleep(3)  # several failed attempts push the backoff to its cap
        assert run.uplink.status()["state"] == "buffering"
        await asyncio.to_thread(broker.start)
        await run.wait_connected(timeout=10)


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
    async with open_branch(settings) as branch:
        # Accepted while the link was down, an hour ago: this is backlog.
        backlog = {i.id for i in await branch.put(events(400), age_s=HOUR)}
        started = time.monotonic()
        async with running_uplink(settings, branch) as run:
            await wait_until(lambda: run.uplink.sender.historical_messages >= 3)
            live = {i.id for i in await branch.put(events(3, kind="queue"))}
            await wait_until(lambda: live <= set(hq.event_ids()))
            sent_hist = run.uplink.sender.historical_messages  # read together with the time
            elapsed = time.monotonic() - started
            unsent = {i.id for i in await branch.store.pending(10_000)}
            assert await branch.depth() > 0 and backlog & unsent, "backlog should still be draining"
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
    async with open_branch(settings) as branch:
        await branch.put(events(500), age_s=HOUR)
        async with running_uplink(settings, branch) as run:
            await run.wait_connected()
            began = time.time()
            progress = [p async for p in run.uplink.sync_now()]
            backlog = run.uplink.status()["backlog"]  # what `edge-agent sync status` shows
        assert backlog["depth"] == 0 and backlog["as_of"] >= began, "figures of the drain, dated"
        assert progress[-1]["remaining"] == 0 and progress[-1]["done"]
        assert progress[-1]["sent"] > 0
        assert await branch.depth() == 0


async def test_backlog_sends_summaries_then_events_then_readings_when_readings_fill_messages(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    """docs/mqtt.md: "summaries first, then events, then readings". A backlog page whose readings
    fill several messages used to send every full readings message first and the (small, never
    full) summary and event messages last, so after an outage HQ got the minute summaries only
    after the whole page of readings."""
    settings = make_settings(broker, tmp_path, sync={"max_batch_bytes": 2_000})
    async with open_branch(settings) as branch:
        # All accepted during an outage an hour ago, readings first (older), then the rest.
        readings = await branch.put(
            events(200, kind="temperature", cls=ItemClass.READING), age_s=HOUR
        )
        evs = await branch.put(events(3, kind="queue_alert"), age_s=HOUR - 1)
        summaries = await branch.put(
            events(2, kind="footfall", cls=ItemClass.SUMMARY), age_s=HOUR - 2
        )
        every = {i.id for i in readings + evs + summaries}
        async with running_uplink(settings, branch):
            await hq.wait_for(lambda _: every <= set(hq.event_ids()))
    batches = [m for m in hq.snapshot() if "/events/" in m.topic or "/summaries/" in m.topic]
    assert all(decode_batch(m.payload).historical for m in batches)
    classes = [
        "summary" if "/summaries/" in m.topic else
        "reading" if m.topic.endswith("/events/reading") else "event"
        for m in batches
    ]  # fmt: skip
    assert classes.count("reading") > 3  # the readings took several messages
    assert classes == sorted(classes, key=["summary", "event", "reading"].index), classes
