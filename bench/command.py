"""Command latency over loopback: HQ publishes `cmd/{device}`, waits for `cmd/{device}/result`.

    .venv/bin/python -m bench.command [COUNT]        # default 500 round trips

The path measured: paho publish -> mosquitto -> uplink -> router -> SimulatedDisplay -> result
publish -> mosquitto -> paho. Printed: p50/p99/max in ms (target p99 <= 20 ms).
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.integration.uplink.wiring import DISPLAYS, ROOT, make_settings, running_uplink
from tests.support.mosquitto import HQ_PASSWORD, HQ_USER, Mosquitto


def hq_client(port: int) -> tuple[paho.Client, dict[str, float], threading.Condition]:
    answered: dict[str, float] = {}
    cond = threading.Condition()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-hq", protocol=paho.MQTTv5)
    client.username_pw_set(HQ_USER, HQ_PASSWORD)

    def on_message(c: paho.Client, u: object, msg: paho.MQTTMessage) -> None:
        with cond:
            answered[json.loads(msg.payload)["id"]] = time.perf_counter()
            cond.notify_all()

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
    client.subscribe(f"{ROOT}/cmd/+/result", qos=1)
    client.loop_start()
    return client, answered, cond


async def measure(broker: Mosquitto, tmp: Path, count: int) -> list[float]:
    client, answered, cond = hq_client(broker.port)
    latencies: list[float] = []
    async with running_uplink(make_settings(broker, tmp, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await asyncio.sleep(0.5)

        def one(i: int) -> float:
            cid = f"bench-{i}"
            body = json.dumps({"id": cid, "action": "volume", "args": {"level": i % 100}})
            start = time.perf_counter()
            client.publish(f"{ROOT}/cmd/lobby-display", body, qos=1)
            with cond:
                cond.wait_for(lambda: cid in answered, timeout=5)
            return (answered[cid] - start) * 1000

        for i in range(count):
            latencies.append(await asyncio.to_thread(one, i))
    client.loop_stop()
    client.disconnect()
    return latencies


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as d:
        broker = Mosquitto(Path(d) / "broker", tls=False)
        broker.start()
        try:
            lat = asyncio.run(measure(broker, Path(d), count))
        finally:
            broker.close()
    q = statistics.quantiles(lat, n=100)
    print(f"command round trips: {len(lat)}")
    print(
        f"p50 {q[49]:.2f} ms   p99 {q[98]:.2f} ms   max {max(lat):.2f} ms   (target p99 <= 20 ms)"
    )


if __name__ == "__main__":
    main()
