"""Another client with our client id: told apart from a broker restart by how sessions end.

The detector runs on injected clocks; the last tests run the real session loop over an in-memory
link whose broker says 0x8E *Session taken over*, which mosquitto 2.0.11 never sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.settings.root import Settings
from edge_agent.uplink import Incoming, Outgoing, Uplink, takeover
from edge_agent.uplink.errors import LinkDown
from edge_agent.uplink.link import _note_disconnects
from edge_agent.uplink.takeover import REMIND_S, SHORT_SESSION_S, STREAK, Takeover, config_keys
from tests.unit.uplink.test_drain_and_stop import FakeLink, Router, opened

CLIENT_ID = "edge-agent-wf-001-ipc-1"
TAKEN_OVER, SHUTTING_DOWN, UNSPECIFIED = 0x8E, 0x8B, 0x80


class Clocks:
    """Monotonic and wall time, moved by hand."""

    def __init__(self) -> None:
        self.mono, self.wall = 1000.0, 1_795_880_000.0

    def advance(self, s: float) -> None:
        self.mono += s
        self.wall += s


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def detector(clocks: Clocks, keys: list[str] | None = None) -> Takeover:
    return Takeover(
        CLIENT_ID,
        keys or config_keys(explicit_client_id=False),
        structlog.get_logger(),
        clock=lambda: clocks.wall,
        monotonic=lambda: clocks.mono,
    )


def session(t: Takeover, clocks: Clocks, lasts_s: float, reason_code: int | None = None) -> None:
    """One session that connects, lasts `lasts_s`, and is ended by the broker."""
    t.connected()
    clocks.advance(lasts_s)
    t.ended(by_broker=True, reason_code=reason_code)
    clocks.advance(0.1)  # the reconnect delay after a session (backoff just reset)


def warnings(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "uplink_client_id_in_use"]


def test_sessions_kicked_off_right_after_connect_warn_once_naming_the_client_id_and_keys(
    clocks: Clocks, logs: list[MutableMapping[str, Any]]
) -> None:
    t = detector(clocks)
    for _ in range(STREAK - 1):
        session(t, clocks, 0.3)
    assert t.report() is None and not warnings(logs)
    session(t, clocks, 0.3)
    [warning] = warnings(logs)
    assert warning["log_level"] == "warning"
    assert warning["client_id"] == CLIENT_ID
    assert warning["config_keys"] == ["agent.branch_id", "agent.agent_id"]
    assert "another client may be connecting with client id" in warning["detail"]
    assert "agent.branch_id / agent.agent_id" in warning["hint"]
    report = t.report()
    assert report is not None
    assert report["client_id"] == CLIENT_ID and report["sessions_cut"] == STREAK
    assert report["since"] == pytest.approx(clocks.wall, abs=1)
    for _ in range(100):  # it goes on: counted, not logged again until the reminder is due
        session(t, clocks, 0.3)
    assert len(warnings(logs)) == 1 and t.report()["sessions_cut"] == STREAK + 100  # type: ignore[index]
    clocks.advance(REMIND_S)
    session(t, clocks, 0.3)
    assert len(warnings(logs)) == 2 and warnings(logs)[-1]["sessions_cut"] == STREAK + 101


def test_an_explicit_client_id_names_that_key() -> None:
    clocks = Clocks()
    t = detector(clocks, config_keys(explicit_client_id=True))
    for _ in range(STREAK):
        session(t, clocks, 0.3)
    assert t.report()["config_keys"] == ["uplink.mqtt.client_id"]  # type: ignore[index]


def test_a_broker_restart_is_not_a_takeover(
    clocks: Clocks, logs: list[MutableMapping[str, Any]]
) -> None:
    t = detector(clocks)
    for _ in range(5):  # restarts in quick succession: each time connects fail for a while
        session(t, clocks, 1.0)  # the broker went down soon after we reconnected
        for _ in range(4):
            t.connect_failed()
            clocks.advance(0.5)
    session(t, clocks, 1.0)
    assert t.report() is None and not warnings(logs)


def test_a_broker_that_says_why_it_ends_the_session_is_believed(
    clocks: Clocks, logs: list[MutableMapping[str, Any]]
) -> None:
    t = detector(clocks)
    for _ in range(10):
        session(t, clocks, 0.3, reason_code=SHUTTING_DOWN)
    assert t.report() is None
    session(t, clocks, 0.3, reason_code=TAKEN_OVER)  # MQTT 5 "Session taken over": at once
    [warning] = warnings(logs)
    assert warning["reason_code"] == TAKEN_OVER and "(0x8E)" in warning["detail"]
    assert t.report()["reason_code"] == TAKEN_OVER  # type: ignore[index]


def test_an_unspecified_disconnect_counts_like_a_dropped_connection(clocks: Clocks) -> None:
    t = detector(clocks)
    for _ in range(STREAK):
        session(t, clocks, 0.3, reason_code=UNSPECIFIED)
    assert t.report() is not None


def test_sessions_that_last_or_that_we_ended_ourselves_do_not_count(clocks: Clocks) -> None:
    t = detector(clocks)
    for _ in range(10):
        session(t, clocks, SHORT_SESSION_S + 1)  # a flaky network, but sessions that last
        t.connected()
        clocks.advance(0.3)
        t.ended(by_broker=False, reason_code=None)  # our own crash right after connect
    assert t.report() is None


def test_a_session_that_lasts_clears_it_and_a_new_streak_starts_from_zero(
    clocks: Clocks, logs: list[MutableMapping[str, Any]]
) -> None:
    t = detector(clocks)
    for _ in range(STREAK):
        session(t, clocks, 0.3)
    assert t.report() is not None
    t.connected()
    clocks.advance(SHORT_SESSION_S)
    assert t.lasted() is True  # the other client is gone
    assert t.report() is None
    assert [e["event"] for e in logs][-1] == "uplink_client_id_in_use_cleared"
    assert t.lasted() is False  # nothing more to clear
    t.ended(by_broker=True, reason_code=None)  # that long session ends: not a cut one
    for _ in range(STREAK - 1):
        session(t, clocks, 0.3)
    assert t.report() is None


def test_a_disconnect_reason_from_the_broker_is_noted_and_a_dropped_socket_is_not() -> None:
    seen: list[Any] = []
    paho = SimpleNamespace(on_disconnect=lambda *args: seen.append(args))
    reasons: list[int] = []
    _note_disconnects(paho, reasons)
    rc = ReasonCode(PacketTypes.DISCONNECT, identifier=TAKEN_OVER)
    paho.on_disconnect(None, None, SimpleNamespace(is_disconnect_packet_from_server=False), rc)
    assert reasons == []  # paho words a lost connection as a reason code too; it is not one
    paho.on_disconnect(None, None, SimpleNamespace(is_disconnect_packet_from_server=True), rc)
    assert reasons == [TAKEN_OVER]
    assert len(seen) == 2  # aiomqtt's own callback still runs


class TakenOverLink(FakeLink):
    """A session the broker ends after `lasts_s` with DISCONNECT 0x8E."""

    def __init__(self, lasts_s: float) -> None:
        super().__init__()
        self.lasts_s = lasts_s

    async def incoming(self) -> AsyncIterator[Incoming]:
        await asyncio.sleep(self.lasts_s)
        self.disconnect_reason = TAKEN_OVER
        raise LinkDown("session ended: [code:142] Session taken over")
        yield Incoming("", b"")  # pragma: no cover - makes this an async generator


class TakenOver:
    """Every connect succeeds; the first `kicks` sessions are taken over soon after."""

    def __init__(self, kicks: int) -> None:
        self.kicks = kicks
        self.links: list[FakeLink] = []

    @contextlib.asynccontextmanager
    async def connect(self, will: Outgoing) -> AsyncIterator[FakeLink]:
        link = TakenOverLink(0.05) if len(self.links) < self.kicks else FakeLink()
        self.links.append(link)
        yield link


async def test_status_and_health_say_so_while_the_broker_says_session_taken_over(
    tmp_path: Path, logs: list[MutableMapping[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(takeover, "SHORT_SESSION_S", 0.5)  # so the last session settles soon
    settings = Settings.model_validate(
        {
            "agent": {"branch_id": "wf-001", "agent_id": "ipc-1", "data_dir": str(tmp_path)},
            "uplink": {"mqtt": {"reconnect_max_s": 0.2}},  # the backoff it waits out meanwhile
        }
    )
    connector = TakenOver(kicks=4)
    async with opened(tmp_path, [0.0]) as store:
        uplink = Uplink(
            settings, store, Router(), health=dict, config_hash="c", version="v",  # type: ignore[arg-type]
            connector=connector,  # type: ignore[arg-type]
        )  # fmt: skip
        task = asyncio.create_task(uplink.run())
        try:
            async with asyncio.timeout(10):
                while uplink.status()["client_id_in_use"] is None:
                    await asyncio.sleep(0.01)
            shown = uplink.status()["client_id_in_use"]
            assert shown["client_id"] == CLIENT_ID and shown["reason_code"] == TAKEN_OVER
            async with asyncio.timeout(10):  # the fifth session is left alone: it clears
                while (
                    uplink.status()["client_id_in_use"] is not None or health(connector)[-1] != "ok"
                ):
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert "client_id_in_use" in health(connector)  # a birth after the first takeover carried it
    subsystems = {
        m["uplink"]["reason"]: m["subsystems"]["uplink"]
        for link in connector.links
        for m in (json.loads(p.payload) for p in link.published if p.topic.endswith("/health"))
    }
    assert subsystems == {  # for dashboards that key on subsystems
        "client_id_in_use": {"state": "degraded", "reason": "client_id_in_use"},
        "ok": {"state": "ok", "reason": "ok"},
    }
    assert len(warnings(logs)) == 1
    # one warning, not one uplink_disconnected line per session taken over
    assert sum(e["event"] == "uplink_disconnected" for e in logs) == 0


def health(connector: TakenOver) -> list[str]:
    """`uplink.reason` of every health message published, in order."""
    return [
        json.loads(m.payload)["uplink"]["reason"]
        for link in connector.links
        for m in link.published
        if m.topic.endswith("/health")
    ]
