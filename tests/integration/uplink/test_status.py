"""Retained birth, graceful stop, Will on a killed agent, device states."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.uplink.hq import HQ, Received
from tests.integration.uplink.wiring import (
    DISPLAYS,
    ROOT,
    make_settings,
    open_branch,
    running_uplink,
)
from tests.support.mosquitto import HQ_PASSWORD, HQ_USER, Mosquitto


def retained(broker: Mosquitto, topic: str, wait_s: int = 5) -> bytes:
    """What a brand-new mosquitto_sub (a separate process) gets as the retained message."""
    out = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", HQ_USER, "-P", HQ_PASSWORD,
         "-t", topic, "-C", "1", "-W", str(wait_s), "-N"],
        capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return out.stdout


async def test_connect_publishes_retained_online_status_with_incrementing_session(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    settings = make_settings(broker, tmp_path)
    async with running_uplink(settings):
        await hq.wait_for(lambda ms: any(m.topic == f"{ROOT}/status" for m in ms))
        first = json.loads(await asyncio.to_thread(retained, broker, f"{ROOT}/status"))
        assert first["state"] == "online"
        assert first["version"] == "0.1.0-test" and first["config_hash"] == "cfg-123"
    async with running_uplink(settings):  # a restart: the store is reopened from the same file
        await hq.wait_for(
            lambda ms: (
                sum(m.topic == f"{ROOT}/status" and m.json()["state"] == "online" for m in ms) >= 2
            )
        )
        second = json.loads(await asyncio.to_thread(retained, broker, f"{ROOT}/status"))
    assert second["session"] == first["session"] + 1


async def test_graceful_stop_says_stopping_then_offline(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await run.wait_connected()
    states = [
        m.json()["state"]
        for m in await hq.wait_for(
            lambda ms: len([m for m in ms if m.topic.endswith("/status")]) >= 3
        )
        if m.topic.endswith("/status")
    ]
    assert states[-2:] == ["stopping", "offline"]
    assert (
        json.loads(await asyncio.to_thread(retained, broker, f"{ROOT}/status"))["state"]
        == "offline"
    )


AGENT_SCRIPT = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.integration.uplink.wiring import make_settings, running_uplink
from tests.support.mosquitto import Mosquitto

class B: port = {port}
async def main():
    async with running_uplink(make_settings(B, Path({tmp!r}))) as run:
        await run.wait_connected()
        print("connected", flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
"""


async def test_killed_agent_leaves_retained_offline_will(broker: Mosquitto, tmp_path: Path) -> None:
    repo = str(Path(__file__).resolve().parents[3])
    script = AGENT_SCRIPT.format(repo=repo, port=broker.port, tmp=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        for _ in range(50):  # structlog lines come first on stdout
            line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
            if line.strip() in (b"connected", b""):
                break
        assert line.strip() == b"connected", proc.stderr.read() if proc.stderr else b""
        assert (
            json.loads(await asyncio.to_thread(retained, broker, f"{ROOT}/status"))["state"]
            == "online"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    # The broker notices the dead TCP connection at once (RST) and publishes the Will.
    status: dict[str, object] = {}
    for _ in range(50):
        status = json.loads(await asyncio.to_thread(retained, broker, f"{ROOT}/status"))
        if status["state"] == "offline":
            break
        await asyncio.sleep(0.1)
    assert status["state"] == "offline"


async def test_device_state_is_retained_and_removed_device_is_cleared(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    topic = f"{ROOT}/devices/lobby-display/state"

    def powered_on(ms: list[Received]) -> bool:
        return any(
            m.topic == topic and m.payload and m.json()["state"]["power"] == "on" for m in ms
        )

    settings = make_settings(broker, tmp_path, devices=DISPLAYS[:1])
    async with running_uplink(settings) as run:
        await run.wait_connected()
        assert (await run.cli("lobby-display", "power", state="on")).ok
        await hq.wait_for(powered_on)
        now = json.loads(await asyncio.to_thread(retained, broker, topic))
        assert now["state"]["power"] == "on" and now["online"] is True
        states = [m for m in hq.snapshot() if m.topic == topic and m.payload]
        assert {m.content_type for m in states} == {"application/json"}, "like every JSON payload"
        await run.supervisor.apply([])  # the device leaves the config
        await hq.wait_for(lambda ms: any(m.topic == topic and m.payload == b"" for m in ms))
    assert await asyncio.to_thread(retained, broker, topic, 1) == b""  # nothing retained any more


async def test_known_device_states_are_republished_on_connect(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    settings = make_settings(broker, tmp_path)
    kiosk = {"online": False, "reason": "timeout", "state": {}, "last_seen": None, "ts": 5.0}
    async with open_branch(settings) as branch:
        await branch.store.save_device_state("kiosk", kiosk)  # saved by an earlier run
        async with running_uplink(settings, branch):
            msgs = await hq.wait_for(
                lambda ms: any(m.topic.endswith("/devices/kiosk/state") for m in ms)
            )
    [m] = [m for m in msgs if m.topic.endswith("/devices/kiosk/state")]
    assert m.json()["reason"] == "timeout"
