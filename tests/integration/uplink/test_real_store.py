"""The uplink against the real SQLite Store: backlog drain across a broker restart, live first."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge_agent.settings.store import StoreSettings
from edge_agent.store import Store
from tests.integration.uplink.conftest import ROOT, make_settings, running_uplink
from tests.integration.uplink.hq import HQ
from tests.integration.uplink.standins import events
from tests.support.mosquitto import Mosquitto


class Clock:
    """Wall clock that can be set back, so items are accepted 'an hour ago' (a real outage)."""

    offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_real_store_backlog_survives_a_broker_restart_and_is_marked_sent(
    broker: Mosquitto, tmp_path: Path
) -> None:
    hq = HQ(broker.port, topic=f"{ROOT}/events/#", client_id="hq-real-store", clean=False)
    clock = Clock()
    store = Store(tmp_path / "edge-agent.db", StoreSettings(), clock=clock)
    await store.open()
    try:
        clock.offset = -3600
        accepted = {i.id for i in await store.put(events(10_000))}
        clock.offset = 0
        settings = make_settings(
            broker, tmp_path, sync={"max_batch_bytes": 8_000, "backlog_rate_msgs": 5_000}
        )
        async with running_uplink(settings, store=store) as run:  # type: ignore[arg-type]
            async with asyncio.timeout(30):
                while (await store.stats()).depth > 7_000:
                    await asyncio.sleep(0.02)
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)
            live = {i.id for i in await store.put(events(5, kind="queue"))}
            async with asyncio.timeout(60):
                while (await store.stats()).depth > 0:
                    await asyncio.sleep(0.05)
            assert run.uplink.status()["session"] >= 2
        async with asyncio.timeout(30):
            while not (accepted | live) <= set(hq.event_ids()):
                await asyncio.sleep(0.05)
    finally:
        hq.close()
        await store.close()
