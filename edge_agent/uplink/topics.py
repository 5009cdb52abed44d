"""Topic names of the MQTT contract v1, built in one place so no module spells them by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge_agent.store.items import ItemClass

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def topic_segment(value: str) -> str:
    """Make `value` one safe topic level: wildcards and slashes would split or widen the topic."""
    return _UNSAFE.sub("_", value) or "_"


@dataclass(frozen=True, slots=True)
class Topics:
    """All topics under `{prefix}/{branch_id}/{agent_id}`."""

    root: str

    @classmethod
    def for_agent(cls, prefix: str, branch_id: str, agent_id: str) -> Topics:
        return cls(f"{prefix.strip('/')}/{branch_id}/{agent_id}")

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def health(self) -> str:
        return f"{self.root}/health"

    def device_state(self, device_id: str) -> str:
        return f"{self.root}/devices/{topic_segment(device_id)}/state"

    def batch(self, cls: ItemClass, kind: str) -> str:
        """`summaries/{kind}`, `events/{kind}`; every reading shares `events/reading`."""
        if cls is ItemClass.SUMMARY:
            return f"{self.root}/summaries/{topic_segment(kind)}"
        if cls is ItemClass.READING:
            return f"{self.root}/events/reading"
        return f"{self.root}/events/{topic_segment(kind)}"

    def outbox_key(self, cls: ItemClass, kind: str) -> tuple[int, str | None]:
        """The outbox rows that go to `batch(cls, kind)`: all readings share one topic."""
        return (int(cls), None) if cls is ItemClass.READING else (int(cls), kind)

    @property
    def commands(self) -> str:
        """Subscription filter for every command target."""
        return f"{self.root}/cmd/+"

    def command_target(self, topic: str) -> str | None:
        """The device id of a `cmd/{device}` topic ("" for `cmd/`, which is answered as
        malformed), or None for anything else (results, strays)."""
        head = f"{self.root}/cmd/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :]
        return rest if "/" not in rest else None

    def command_result(self, device_id: str) -> str:
        return f"{self.root}/cmd/{topic_segment(device_id)}/result"
