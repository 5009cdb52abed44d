"""Remote commands sent by `mosquitto_pub` (a separate process), answers seen by HQ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.uplink.hq import HQ
from tests.integration.uplink.wiring import DISPLAYS, ROOT, make_settings, running_uplink
from tests.support.mosquitto import HQ_PASSWORD, HQ_USER, Mosquitto


def pub(broker: Mosquitto, device: str, payload: bytes | str, *extra: str) -> None:
    data = payload.encode() if isinstance(payload, str) else payload
    subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-u", HQ_USER, "-P", HQ_PASSWORD,
         "-q", "1", "-t", f"{ROOT}/cmd/{device}", "-s", *extra],
        input=data, check=True, capture_output=True, timeout=10,
    )  # fmt: skip


async def result_for(
    hq: HQ, device: str, command_id: str, count: int = 1
) -> list[dict[str, object]]:
    topic = f"{ROOT}/cmd/{device}/result"
    msgs = await hq.wait_for(
        lambda ms: sum(m.topic == topic and m.json()["id"] == command_id for m in ms) >= count
    )
    return [m.json() for m in msgs if m.topic == topic and m.json()["id"] == command_id]


async def test_command_round_trip_changes_the_display(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await asyncio.to_thread(
            pub,
            broker,
            "lobby-display",
            json.dumps({"id": "c1", "action": "power", "args": {"state": "on"}}),
        )
        [res] = await result_for(hq, "lobby-display", "c1")
    assert res["ok"] is True and res["result"]["power"] == "on"  # type: ignore[index]


async def test_same_command_id_twice_acts_once(broker: Mosquitto, hq: HQ, tmp_path: Path) -> None:
    body = json.dumps({"id": "dup-1", "action": "volume", "args": {"level": 40}})
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await asyncio.to_thread(pub, broker, "lobby-display", body)
        await result_for(hq, "lobby-display", "dup-1")
        assert (await run.cli("lobby-display", "volume", level=10)).ok  # someone turns it down
        await asyncio.to_thread(pub, broker, "lobby-display", body)
        first, second = await result_for(hq, "lobby-display", "dup-1", count=2)
        now = await run.cli("lobby-display", "mute", state="off")
        audited = [a for a in await run.store.audit() if a["id"] == "dup-1"]
    assert now.result is not None and now.result["volume"] == 10  # the replay did not act again
    assert len(audited) == 1
    assert first["ok"] and second["ok"] and second["replayed"] is True
    assert second["result"] == first["result"]  # the stored answer comes back


async def test_an_id_reused_for_another_command_is_refused_not_answered_with_the_first_result(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    """Command ids are agent-wide. HQ reusing one for a different command (another device, or
    another action or arguments) must not get the first command's stored answer as if this one
    had run (`ok: true` on `cmd/lobby-display/result` for a power command that never ran)."""
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await asyncio.to_thread(pub, broker, "_agent", json.dumps({"id": "n1", "action": "ping"}))
        [pong] = await result_for(hq, "_agent", "n1")
        power = {"id": "n1", "action": "power", "args": {"state": "on"}}
        await asyncio.to_thread(pub, broker, "lobby-display", json.dumps(power))
        [other_device] = await result_for(hq, "lobby-display", "n1")
        vol = {"id": "n2", "action": "volume", "args": {"level": 30}}
        await asyncio.to_thread(pub, broker, "lobby-display", json.dumps(vol))
        [first] = await result_for(hq, "lobby-display", "n2")
        vol["args"] = {"level": 70}
        await asyncio.to_thread(pub, broker, "lobby-display", json.dumps(vol))
        _, other_args = await result_for(hq, "lobby-display", "n2", count=2)
        vol["args"], vol["expires_at"] = {"level": 30}, time.time() + 60  # a retry: same command
        await asyncio.to_thread(pub, broker, "lobby-display", json.dumps(vol))
        *_, retry = await result_for(hq, "lobby-display", "n2", count=3)
        now = await run.cli("lobby-display", "mute", state="off")
        audited = {a["id"]: a for a in await run.store.audit()}
    assert pong["ok"] is True and first["ok"] is True
    assert now.result is not None and now.result["power"] != "on"  # the reused id did not act
    assert now.result["volume"] == 30
    for refused in (other_device, other_args):
        assert refused["ok"] is False and refused["replayed"] is False
        assert refused["error"]["code"] == "malformed"  # type: ignore[index]
        assert "already used" in refused["error"]["message"]  # type: ignore[index]
    assert "_agent ping" in other_device["error"]["message"]  # type: ignore[index]
    assert retry["ok"] is True and retry["replayed"] is True and retry["result"] == first["result"]
    assert audited["n1"]["request"]["device"] == "_agent"  # the first use keeps the id
    assert audited["n2"]["request"]["args"] == {"level": 30}


async def test_errors_come_back_as_typed_results_and_the_agent_keeps_running(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "expired": (
            "lobby-display",
            {
                "id": "e1",
                "action": "power",
                "args": {"state": "on"},
                "expires_at": time.time() - 60,
            },
        ),
        "forbidden": ("kiosk", {"id": "e2", "action": "volume", "args": {"level": 3}}),
        "unknown_device": ("toaster", {"id": "e3", "action": "power", "args": {"state": "on"}}),
        "unknown_action": ("lobby-display", {"id": "e4", "action": "explode"}),
        "invalid_argument": (
            "lobby-display",
            {"id": "e5", "action": "volume", "args": {"level": 900}},
        ),
        "malformed": ("lobby-display", {"id": "e6", "action": "power", "surprise": 1}),
    }
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        for device, body in cases.values():
            await asyncio.to_thread(pub, broker, device, json.dumps(body))
        await asyncio.to_thread(pub, broker, "lobby-display", b"\xff{not json")
        for code, (device, body) in cases.items():
            [res] = await result_for(hq, device, str(body["id"]))
            assert res["ok"] is False and res["error"]["code"] == code, res  # type: ignore[index]
        [bad] = await result_for(hq, "lobby-display", "")
        assert bad["error"]["code"] == "malformed"  # type: ignore[index]
        await asyncio.to_thread(pub, broker, "", json.dumps({"id": "e7", "action": "ping"}))
        [nameless] = await result_for(hq, "_", "e7")  # `cmd/` names no device: answered as `_`
        assert nameless["error"] == {
            "code": "malformed",
            "message": "the topic names no device: publish to cmd/{device_id}",
        }
        await asyncio.to_thread(pub, broker, "_agent", json.dumps({"id": "p1", "action": "ping"}))
        [pong] = await result_for(hq, "_agent", "p1")
        assert pong["ok"] and run.uplink.status()["connected"]


async def test_mqtt5_response_topic_and_correlation_data_are_honoured(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await asyncio.to_thread(
            pub, broker, "_agent", json.dumps({"id": "r1", "action": "ping"}),
            "-V", "mqttv5", "-D", "publish", "response-topic", "edge/hq/replies/42",
            "-D", "publish", "correlation-data", "corr-42",
        )  # fmt: skip
        msgs = await hq.wait_for(lambda ms: any(m.topic == "edge/hq/replies/42" for m in ms))
    [reply] = [m for m in msgs if m.topic == "edge/hq/replies/42"]
    assert reply.json()["id"] == "r1" and reply.correlation == b"corr-42"


async def test_rebirth_republishes_status_and_health(
    broker: Mosquitto, hq: HQ, tmp_path: Path
) -> None:
    async with running_uplink(make_settings(broker, tmp_path, devices=DISPLAYS)) as run:
        await run.wait_connected()
        await hq.wait_for(lambda ms: any(m.topic.endswith("/health") for m in ms))
        await asyncio.to_thread(
            pub, broker, "_agent", json.dumps({"id": "rb", "action": "rebirth"})
        )
        await result_for(hq, "_agent", "rb")
        msgs = await hq.wait_for(lambda ms: sum(m.topic.endswith("/health") for m in ms) >= 2)
    assert sum(m.topic.endswith("/status") for m in msgs) >= 2
    health = [m.json() for m in msgs if m.topic.endswith("/health")][-1]
    assert health["subsystems"]["store"]["reason"] == "ok" and "depth" in health["backlog"]
