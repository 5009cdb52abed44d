"""A topic the broker refuses (an ACL deny on one `events/{kind}`): the rest keeps flowing on
the same session, the refused items stay in the store, and `health` says which topic and why."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from edge_agent.uplink import refusals
from tests.integration.uplink.hq import HQ
from tests.integration.uplink.test_commands import pub, result_for
from tests.integration.uplink.wiring import ROOT, events, make_settings, running_uplink, wait_until
from tests.support.mosquitto import AGENT_USER, HQ_USER, Mosquitto

DENIED = f"{ROOT}/events/denied"
REFUSED_BY_ACL = 0x87  # MQTT 5 "Not authorized"


def write_acl(broker: Mosquitto, *, deny: bool) -> None:
    rule = f"topic deny {DENIED}\n" if deny else ""
    (broker.root / "acl").write_text(
        f"user {AGENT_USER}\ntopic readwrite edge/#\n{rule}\nuser {HQ_USER}\ntopic readwrite edge/#\n"
    )


@pytest.fixture
def strict_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """The fixture broker with its ACL denying the agent one event kind's topic."""
    b = Mosquitto(tmp_path / "broker", tls=False)
    write_acl(b, deny=True)
    # mosquitto 2.0.11 with `max_queued_messages 0` (no limit) drops the client right after
    # refusing a QoS 1 publish; with a limit it answers PUBACK 0x87 and keeps the session, as a
    # production broker does. (The agent copes with both: the topic stays held back.)
    b.config.write_text(
        b.config.read_text().replace("max_queued_messages 0", "max_queued_messages 100000")
    )
    b.start()
    try:
        yield b
    finally:
        b.close()


async def test_a_denied_topic_is_held_back_while_other_kinds_flow_on_the_same_session(
    strict_broker: Mosquitto,
    tmp_path: Path,
    logs: list[MutableMapping[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(refusals, "RETRY_MIN_S", 0.5)  # retry soon, so the test sees the retry
    broker = strict_broker
    hq = HQ(broker.port)
    settings = make_settings(broker, tmp_path, health_interval_s=0.3)
    try:
        async with running_uplink(settings) as run:
            await run.wait_connected()
            denied = {i.id for i in await run.branch.put(events(30, kind="denied"))}
            allowed = {i.id for i in await run.branch.put(events(50))}
            await hq.wait_for(lambda _: allowed <= set(hq.event_ids()))
            more = {i.id for i in await run.branch.put(events(50, kind="queue"))}
            await hq.wait_for(lambda _: more <= set(hq.event_ids()))

            def refused_in_health(ms: list[Any]) -> bool:
                health = [m.json() for m in ms if m.topic == f"{ROOT}/health"]
                return bool(health and health[-1]["uplink"]["refused"])

            msgs = await hq.wait_for(refused_in_health)
            [refused] = [m.json() for m in msgs if m.topic == f"{ROOT}/health"][-1]["uplink"][
                "refused"
            ]
            # Several retries have come and gone; none of them cost a reconnect.
            await wait_until(lambda: run.uplink.sender.refusals.messages >= 3)
            assert run.uplink.status()["session"] == 1 and run.uplink.status()["connected"]
            unsent = {i.id for i in await run.store.pending(1_000)}
            assert unsent == denied  # kept, not dropped, not marked sent

            write_acl(broker, deny=False)  # HQ fixes its ACL; mosquitto reloads it on SIGHUP
            os.kill(broker._proc.pid, signal.SIGHUP)  # type: ignore[union-attr]
            await hq.wait_for(lambda _: denied <= set(hq.event_ids()))
            await wait_until(lambda: run.branch.depth_below(1))
            healthy = await hq.wait_for(lambda ms: not refused_in_health(ms))
            assert run.uplink.status()["session"] == 1
    finally:
        hq.close()
    assert refused["topic"] == DENIED and refused["reason_code"] == REFUSED_BY_ACL
    assert refused["items"] >= 30 and refused["reason"] == "Not authorized"
    warned = [e for e in logs if e["event"] == "publish_refused"]
    assert len(warned) == 1 and warned[0]["topic"] == DENIED  # once per topic per interval
    assert not [e for e in logs if e["event"] == "uplink_disconnected"]
    assert hq.validate_all() > 0 and healthy


async def test_a_too_long_device_id_or_a_refused_reply_loses_one_answer_not_the_session(
    strict_broker: Mosquitto, tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    """A `cmd/` topic whose device id is longer than any device's, and an MQTT 5 response topic
    outside the agent's ACL (the broker refuses that publish): each command gets its typed answer
    on `cmd/.../result`, and the same session goes on answering."""
    broker, long_id = strict_broker, "d" * 80
    hq = HQ(broker.port)
    try:
        async with running_uplink(make_settings(broker, tmp_path)) as run:
            await run.wait_connected()
            await asyncio.to_thread(
                pub, broker, long_id, json.dumps({"id": "t1", "action": "ping"})
            )
            [bad] = await result_for(hq, long_id, "t1")
            await asyncio.to_thread(
                pub, broker, "_agent", json.dumps({"id": "r2", "action": "ping"}),
                "-V", "mqttv5", "-D", "publish", "response-topic", "not-edge/replies/1",
            )  # fmt: skip
            [answered] = await result_for(hq, "_agent", "r2")
            await wait_until(lambda: any(e["event"] == "command_answer_refused" for e in logs))
            await asyncio.to_thread(
                pub, broker, "_agent", json.dumps({"id": "p2", "action": "ping"})
            )
            [pong] = await result_for(hq, "_agent", "p2")
            status = run.uplink.status()
    finally:
        hq.close()
    assert bad["ok"] is False and bad["error"]["code"] == "malformed"  # type: ignore[index]
    assert "device" in bad["error"]["message"]  # type: ignore[index]
    assert answered["ok"] is True and pong["ok"] is True
    assert status["connected"] and status["session"] == 1, "the session was not torn down"
    assert not [e for e in logs if e["event"] == "uplink_disconnected"]
