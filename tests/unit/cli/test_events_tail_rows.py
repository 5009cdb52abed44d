"""`events tail` lines up its columns whatever the kind, so an engineer can scan them."""

from __future__ import annotations

from edge_agent.cli.events_cmd import HEADER, row


def test_every_built_in_kind_keeps_the_device_and_data_columns_in_line() -> None:
    kinds = ["state", "reading", "queue_alert", "projector_fault", "display_fault_cleared"]
    lines = [
        row({"seq": 7, "ts": 0.0, "cls": "event", "kind": k, "device": "lobby", "data": {"a": 1}})
        for k in kinds
    ]
    device_at = HEADER.index("device")
    for line in lines:
        assert line.plain[device_at:].startswith("lobby "), line.plain
        assert line.plain.endswith(' {"a":1}'), line.plain
