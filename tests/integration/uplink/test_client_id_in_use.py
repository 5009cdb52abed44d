"""Two agents with one client id (a cloned disk image) keep kicking each other off the broker:
each says so once, in its log, its status and its health; a broker restart says nothing of it.

mosquitto 2.0.11 sends no DISCONNECT when it closes the older connection, so this is the case
where only the rhythm of the sessions tells (edge_agent/uplink/takeover.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from edge_agent.uplink import takeover
from tests.integration.uplink.hq import HQ, Received
from tests.integration.uplink.wiring import (
    ROOT,
    events,
    make_settings,
    running_uplink,
    wait_until,
)
from tests.support.mosquitto import Mosquitto

CLIENT_ID = "edge-agent-wf-001-ipc-1"
#: Bound on the detection: STREAK sessions taken over take a second or two on loopback.
DETECTED_WITHIN_S = 15.0


def health_reasons(ms: list[Received]) -> list[str]:
    return [m.json()["uplink"]["reason"] for m in ms if m.topic == f"{ROOT}/health" and m.payload]


def warned(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "uplink_client_id_in_use"]


async def test_two_agents_with_the_same_ids_are_told_another_client_uses_their_client_id(
    broker: Mosquitto,
    hq: HQ,
    tmp_path: Path,
    logs: list[MutableMapping[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A shorter "lasts" so the test sees it clear in 2 s; taken-over sessions last far less.
    monkeypatch.setattr(takeover, "SHORT_SESSION_S", 2.0)
    (tmp_path / "first").mkdir()
    (tmp_path / "clone").mkdir()
    first = make_settings(broker, tmp_path / "first")
    clone = make_settings(broker, tmp_path / "clone")  # same branch_id/agent_id, own disk
    async with running_uplink(first) as a:
        await a.wait_connected()
        async with running_uplink(clone) as b:
            await wait_until(
                lambda: (
                    a.uplink.status()["client_id_in_use"] and b.uplink.status()["client_id_in_use"]
                ),
                timeout=DETECTED_WITHIN_S,
            )
            for run in (a, b):
                shown = run.uplink.status()["client_id_in_use"]
                assert shown["client_id"] == CLIENT_ID
                assert shown["config_keys"] == ["agent.branch_id", "agent.agent_id"]
                # mosquitto 2.0.11 just closes the socket; a broker that says why sends 0x8E
                assert shown["reason_code"] in (None, takeover.SESSION_TAKEN_OVER)
            await hq.wait_for(lambda ms: "client_id_in_use" in health_reasons(ms))
            before = a.uplink.status()["session"]
            await asyncio.sleep(3.0)  # they go on kicking each other: still one warning each
            assert len(warned(logs)) == 2, warned(logs)
            # ...but no longer several times a second: each waits out its backoff (<= 1.5 s)
            assert a.uplink.status()["session"] - before <= 5
            assert {w["client_id"] for w in warned(logs)} == {CLIENT_ID}
        # The clone is gone: the first agent's next session lasts, and it says so.
        await wait_until(lambda: a.uplink.status()["client_id_in_use"] is None, timeout=10)
        await hq.wait_for(lambda ms: health_reasons(ms)[-1:] == ["ok"])
        ids = {i.id for i in await a.branch.put(events(5))}
        await hq.wait_for(lambda _: ids <= set(hq.event_ids()))
    assert any(e["event"] == "uplink_client_id_in_use_cleared" for e in logs)


async def test_broker_restarts_are_not_taken_for_another_client(
    broker: Mosquitto, hq: HQ, tmp_path: Path, logs: list[MutableMapping[str, Any]]
) -> None:
    async with running_uplink(make_settings(broker, tmp_path)) as run:
        await run.wait_connected()
        # More restarts in a row than the warning needs, each right after the agent reconnected:
        # every session is cut short by the broker, as in a takeover, but connects fail between.
        for _ in range(takeover.STREAK + 1):
            session = run.uplink.status()["session"]
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(0.5)  # a restart takes a moment (systemd, loading persistence)
            await asyncio.to_thread(broker.start)
            # 30 s: an attempt that reached the stopping broker waits out connect_timeout_s (10)
            await wait_until(lambda s=session: run.uplink.status()["session"] > s, timeout=30)
        await run.branch.put(events(5))
        await wait_until(lambda: run.branch.depth_below(1))  # PUBACKed: the link works
        assert run.uplink.status()["client_id_in_use"] is None
    assert not warned(logs)
    assert "client_id_in_use" not in health_reasons(hq.snapshot())
