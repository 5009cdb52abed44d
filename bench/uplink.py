"""Drain throughput of the uplink vs a raw paho QoS 1 publish loop, same fixture broker, same run.

    .venv/bin/python -m bench.uplink [EVENTS]       # default 1_000_000 events

The raw loop publishes one ~150-byte QoS 1 message per event with paho's threaded loop and
waits for every PUBACK. The uplink drains the same number of events from a backlog (batched,
pipelined, rate limit off via `sync_now`). Printed: events/s of both and the ratio.

Reconnect latency: the broker is stopped for 3 s (long enough for the backoff to reach its cap),
started again, and the time from "broker listening" to the first PUBACK of an event committed at
that moment is printed (target: within about 2 s). Tests only check that it reconnects at all.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.integration.uplink.wiring import events, make_settings, open_branch, running_uplink
from tests.support.mosquitto import AGENT_PASSWORD, AGENT_USER, Mosquitto

RAW_MESSAGES = 20_000


def raw_paho(port: int, n: int) -> float:
    """Messages/s of a plain paho QoS 1 loop (each publish's PUBACK awaited at the end)."""
    done = threading.Semaphore(0)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=paho.MQTTv5)
    client.username_pw_set(AGENT_USER, AGENT_PASSWORD)
    client.max_inflight_messages_set(32)
    client.on_publish = lambda *a: done.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    record = {
        "id": "0" * 32,
        "seq": 1,
        "ts": 1.0,
        "kind": "footfall",
        "device": "cam-1",
        "data": {"pad": "x" * 40},
    }
    payload = json.dumps(record).encode()
    start = time.perf_counter()
    for _ in range(n):
        client.publish("edge/bench/raw", payload, qos=1)
    for _ in range(n):
        done.acquire(timeout=60)
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    return n / elapsed


async def uplink_drain(broker: Mosquitto, tmp: Path, n: int) -> tuple[float, int]:
    """Drain `n` events that sit in the real SQLite store as an hour-old backlog."""
    settings = make_settings(broker, tmp, sync={"max_batch_bytes": 64_000, "max_inflight": 32})
    async with open_branch(settings) as branch:
        all_events = events(n)
        for i in range(0, n, 50_000):
            await branch.put(all_events[i : i + 50_000], age_s=3600)
        async with running_uplink(settings, branch) as run:
            await run.wait_connected()
            start = time.perf_counter()
            async for _ in run.uplink.sync_now():
                pass
            elapsed = time.perf_counter() - start
            messages = run.uplink.counters.messages_sent
    return n / elapsed, messages


RECONNECT_ROUNDS = 5


async def reconnect_latency(broker: Mosquitto, tmp: Path) -> list[float]:
    """Seconds from the broker listening again to the first PUBACK, one figure per outage."""
    figures: list[float] = []
    async with running_uplink(make_settings(broker, tmp / "reconnect")) as run:
        await run.wait_connected()
        for _ in range(RECONNECT_ROUNDS):
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(broker.start)
            back = time.perf_counter()
            before = run.uplink.counters.items_sent
            await run.branch.put(events(1, kind="queue"))
            async with asyncio.timeout(30):
                while run.uplink.counters.items_sent == before:  # noqa: ASYNC110 - another task owns the counter
                    await asyncio.sleep(0.005)
            figures.append(time.perf_counter() - back)
    return figures


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as d:
        broker = Mosquitto(Path(d) / "broker", tls=False)
        broker.start()
        try:
            raw = raw_paho(broker.port, RAW_MESSAGES)
            rate, messages = asyncio.run(uplink_drain(broker, Path(d), n))
            (Path(d) / "reconnect").mkdir()
            latencies = asyncio.run(reconnect_latency(broker, Path(d)))
        finally:
            broker.close()
    print(
        f"raw paho QoS1 loop : {raw:>12,.0f} events/s ({RAW_MESSAGES:,} messages, one event each)"
    )
    print(
        f"uplink drain       : {rate:>12,.0f} events/s ({n:,} events in {messages:,} messages, {n / rate:.1f} s)"
    )
    print(
        f"ratio uplink/raw   : {rate / raw:>12.1f}x events/s (target >= 0.5x; 1M-event drain target < 60 s)"
    )
    msg_rate = messages / (n / rate)
    per_msg = n // max(messages, 1)
    print(
        f"messages/s         : {msg_rate:>12,.0f} uplink vs {raw:,.0f} raw ({per_msg} events per uplink message)"
    )

    print(
        f"reconnect latency  : median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
        f"from broker restart to first PUBACK ({len(latencies)} outages of 3 s; target <= ~2 s)"
    )


if __name__ == "__main__":
    main()
