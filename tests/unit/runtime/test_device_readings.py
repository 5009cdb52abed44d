"""A reading or event JSON cannot carry (NaN, an overflow to inf, None) is dropped, not the device."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from structlog.testing import capture_logs

from edge_agent.runtime.device import DeviceContext
from edge_agent.settings.store import StoreSettings
from edge_agent.store import Store
from edge_agent.store.checks import check_item
from edge_agent.store.items import NewItem


def test_a_reading_json_cannot_carry_is_dropped_and_said_once_and_the_rest_go_on() -> None:
    sent: list[NewItem] = []
    ctx = DeviceContext("meter", submit=sent.append, clock=lambda: 100.0)
    with capture_logs() as logs:
        for _ in range(3):  # polls in a row, each with one bad sample
            ctx.emit_reading("main.power", math.inf, "W")
            ctx.emit_reading("main.voltage", 230.1, "V")
        ctx.emit_reading("main.current", None, "A")  # type: ignore[arg-type]  # a plugin's slip
    assert [i.data for i in sent] == [{"name": "main.voltage", "value": 230.1, "unit": "V"}] * 3
    refused = [e for e in logs if e["event"] == "reading_refused"]
    assert [e["name"] for e in refused] == ["main.power", "main.current"], "once per name"
    assert all(e["log_level"] == "warning" and e["error"] for e in refused)


async def stored(
    tmp_path: Path, emit: Callable[[DeviceContext], None]
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """What a real store holds, waiting to be sent, after `emit` ran on a device's context; and
    the logs."""
    store = Store(tmp_path / "edge-agent.db", StoreSettings(commit_interval_ms=2))
    await store.open()
    try:
        ctx = DeviceContext("meter", submit=store.submit, clock=lambda: 100.0)
        with capture_logs() as logs:
            emit(ctx)
        await store.flush()
        return [(i.kind, i.data) for i in await store.pending(10)], logs
    finally:
        await store.close()


async def test_a_numpy_scalar_reading_is_stored_as_the_python_value_it_holds(
    tmp_path: Path,
) -> None:
    # Before, np.int64(3) was stored and sent as 3.0 and np.bool_(True) as 1.0: a driver that
    # computes with numpy (a camera, a filter) changed the type HQ saw, unless it called .item().
    def emit(ctx: DeviceContext) -> None:
        ctx.emit_reading("main.pulses", np.int64(3))
        ctx.emit_reading("main.energy", np.uint64(2**63 + 1), "Wh")
        ctx.emit_reading("relays.closed", np.bool_(True))
        ctx.emit_reading("main.power", np.float32(1.5), "kW")
        ctx.emit_reading("main.voltage", np.float32("nan"), "V")

    items, logs = await stored(tmp_path, emit)
    assert json.dumps({d["name"]: d["value"] for _, d in items}) == json.dumps(
        {"main.pulses": 3, "main.energy": 2**63 + 1, "relays.closed": True, "main.power": 1.5}
    ), "each with the JSON type of the value it holds"
    assert [e["name"] for e in logs if e["event"] == "reading_refused"] == ["main.voltage"]


async def test_numpy_values_inside_an_event_go_as_the_python_values_they_hold(
    tmp_path: Path,
) -> None:
    # Before, np.int64 anywhere in an event's data had it refused (`event_refused`) and a 0-d
    # array reading went as a float; a driver that computes with numpy lost those events.
    def emit(ctx: DeviceContext) -> None:
        data = {"count": np.int64(4), "over": [np.bool_(True), (np.float32(0.5), 2)]}
        ctx.emit_event("acme_peak", data)
        ctx.emit_reading("main.pulses", np.array(7))  # type: ignore[arg-type]  # 0-d array

    items, logs = await stored(tmp_path, emit)
    assert json.dumps(items) == json.dumps(
        [
            ("acme_peak", {"count": 4, "over": [True, [0.5, 2]]}),
            ("reading", {"name": "main.pulses", "value": 7}),
        ]
    )
    assert not [e for e in logs if e["event"] in ("event_refused", "reading_refused")]


def test_an_event_holding_itself_or_a_numpy_date_is_refused_at_once() -> None:
    sent: list[NewItem] = []

    def submit(item: NewItem) -> None:
        check_item(item)
        sent.append(item)

    looped: dict[str, Any] = {}
    looped["a"] = looped["b"] = looped  # walked naively: 2**33 calls, the driver stuck
    ctx = DeviceContext("meter", submit=submit, clock=lambda: 100.0)
    with capture_logs() as logs:
        ctx.emit_event("acme_loop", looped)
        ctx.emit_event("acme_when", {"at": np.datetime64("2026-11-29T07:00", "ns")})  # not 1.8e18
        ctx.emit_reading("acme.when", np.datetime64("2026-11-29T07:00", "ns"))  # type: ignore[arg-type]
    assert sent == []
    refused = [e.get("kind", e.get("name")) for e in logs if e["event"].endswith("_refused")]
    assert refused == ["acme_loop", "acme_when", "acme.when"]


def test_an_event_the_store_refuses_is_dropped_and_said_once_and_the_rest_go_on() -> None:
    sent: list[NewItem] = []

    def submit(item: NewItem) -> None:  # Store.submit's own check at the door
        check_item(item)
        sent.append(item)

    ctx = DeviceContext("tags", submit=submit, clock=lambda: 100.0)
    with capture_logs() as logs:
        for _ in range(2):
            ctx.emit_event("presence", {"beacon": "a", "state": "enter", "rssi": math.nan})
            ctx.emit_event("presence", {"beacon": "b", "state": "enter", "rssi": -60.0})
    assert [i.data["beacon"] for i in sent] == ["b", "b"]
    assert [e["kind"] for e in logs if e["event"] == "event_refused"] == ["presence"]


def test_an_event_under_the_daemons_own_kind_or_no_topic_safe_kind_is_dropped_and_said_once() -> (
    None
):
    # `events/reading` carries readings and `events/state` state changes: a driver's event there
    # reached HQ in a shape neither schema describes; `acme/overheat` was rewritten into a topic
    # level `acme_overheat` that another kind may hold too.
    sent: list[NewItem] = []
    ctx = DeviceContext("sign", submit=sent.append, clock=lambda: 100.0)
    with capture_logs() as logs:
        for _ in range(2):
            for kind in ("reading", "state", "queue_alert", "acme/overheat", "Overheat", ""):
                ctx.emit_event(kind, {"temperature_c": 80.0})
            ctx.emit_event("acme_overheat", {"temperature_c": 80.0})
    assert [i.kind for i in sent] == ["acme_overheat", "acme_overheat"]
    refused = {e["kind"]: e["error"] for e in logs if e["event"] == "event_refused"}
    assert list(refused) == ["reading", "state", "queue_alert", "acme/overheat", "Overheat", ""]
    assert "emit readings with ctx.emit_reading" in refused["reading"]
    assert "is the daemon's own (`events/state`)" in refused["state"]
    assert "lower-case letters, digits or '_'" in refused["acme/overheat"]


def test_a_built_in_drivers_event_kind_is_refused_where_it_is_taken() -> None:
    sent: list[NewItem] = []
    plugin = DeviceContext("sign", sent.append, lambda: 100.0, taken_kinds=frozenset({"presence"}))
    built_in = DeviceContext("tags", sent.append, lambda: 100.0)
    with capture_logs() as logs:
        plugin.emit_event("presence", {"who": "x"})
        built_in.emit_event("presence", {"beacon": "b", "state": "enter", "rssi": -60.0})
    assert [i.device for i in sent] == ["tags"]
    assert [e["error"] for e in logs if e["event"] == "event_refused"] == [
        "event kind 'presence' belongs to a built-in driver (docs/schemas/); "
        "name your events after your driver (`acme_overheat`)"
    ]
