"""Headquarters' side in tests: an independent paho-mqtt subscriber that records everything.

Every message it receives is checked against the committed JSON Schemas (docs/schemas) by topic,
so each test also proves that what really went over the wire matches the documented contract. A
test whose records come from real producers (not made-up `data`) checks each record's `data` too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.uplink.codec import decode_batch
from edge_agent.uplink.schemas import record_data_models
from tests.support.mosquitto import HQ_PASSWORD, HQ_USER, Mosquitto

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


@cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text())
    return schema


def data_schema_for(topic: str, kind: str) -> str | None:
    """Which schema a batch record's `data` must match (None: a kind the contract does not
    describe, such as a test's own or a third-party driver's)."""
    prefix = "summary-" if "/summaries/" in topic else "event-"
    name = "reading" if kind == "reading" else f"{prefix}{kind}".replace("_", "-")
    return name if name in record_data_models() else None


def validate_message(topic: str, payload: bytes, *, records: bool = False) -> bool:
    """Check one message against docs/schemas, and with `records` each batch record's `data`
    against its kind's schema; False: not ours to check."""
    name = schema_for(topic, payload)
    if name is None:
        return False
    jsonschema.validate(json.loads(payload), _schema(name))
    if records and name.startswith("event-batch"):
        for record in decode_batch(payload).events:
            data_name = data_schema_for(topic, record.kind)
            if data_name is not None:
                jsonschema.validate(record.data, _schema(data_name))
    return True


def schema_for(topic: str, payload: bytes) -> str | None:
    """Which schema a topic's payload must match (None: not ours to check)."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "edge":
        return None
    rest = parts[4:]
    if rest == ["status"]:
        return "status"
    if rest == ["health"]:
        return "health"
    if rest[:1] == ["devices"] and rest[-1:] == ["state"]:
        return "device-state" if payload else None
    if rest[:1] in (["events"], ["summaries"]):
        return "event-batch-zstd" if b'"encoding":"zstd"' in payload else "event-batch"
    if rest[:1] == ["cmd"]:
        return "command-result" if rest[-1:] == ["result"] else None
    return None


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    content_type: str | None
    correlation: bytes | None
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class HQ:
    """A paho subscriber on `edge/#` (or a chosen filter) with a persistent session."""

    def __init__(
        self, port: int, *, topic: str = "edge/#", client_id: str = "hq-test", clean: bool = True
    ) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        self._client.username_pw_set(HQ_USER, HQ_PASSWORD)
        self._client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]  # floats work
        self._topic = topic
        self._subscribed = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600 if not clean else 0
        self._client.connect("127.0.0.1", port, keepalive=30, clean_start=clean, properties=props)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("HQ subscriber did not subscribe")

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        props = msg.properties
        rec = Received(
            msg.topic, bytes(msg.payload), bool(msg.retain),
            getattr(props, "ContentType", None), getattr(props, "CorrelationData", None), time.monotonic(),
        )  # fmt: skip
        with self._lock:
            self.messages.append(rec)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def on(self, suffix: str) -> list[Received]:
        return [m for m in self.snapshot() if m.topic.endswith(suffix)]

    async def wait_for(
        self, pred: Callable[[list[Received]], bool], timeout: float = 15.0
    ) -> list[Received]:
        """Poll (without blocking the event loop the uplink runs in) until `pred` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot()
            if pred(snap):
                return snap
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"HQ did not see the expected messages in {timeout} s (got {len(self.snapshot())})"
        )

    def event_ids(self) -> list[str]:
        ids: list[str] = []
        for m in self.snapshot():
            if "/events/" in m.topic or "/summaries/" in m.topic:
                ids.extend(e.id for e in decode_batch(m.payload).events)
        return ids

    def validate_all(self, *, records: bool = False) -> int:
        """Check every received payload against its schema (with `records`, every batch record's
        `data` too: only for records real producers made); return how many were checked."""
        return sum(validate_message(m.topic, m.payload, records=records) for m in self.snapshot())

    def close(self) -> None:
        self._client.disconnect()  # first, so the network thread ends at once instead of in 1 s
        self._client.loop_stop()


@pytest.fixture
def hq(broker: Mosquitto) -> Iterator[HQ]:
    """HQ's subscriber on the test broker, started before the agent; at teardown it must have
    seen our messages, and every one must match docs/schemas. Import it into a conftest."""
    sub = HQ(broker.port)
    try:
        yield sub
    finally:
        sub.close()
    assert sub.validate_all() > 0
