"""A reading or event JSON cannot carry (NaN, an overflow to inf, None) is dropped, not the device."""

from __future__ import annotations

import math

from structlog.testing import capture_logs

from edge_agent.runtime.device import DeviceContext
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
