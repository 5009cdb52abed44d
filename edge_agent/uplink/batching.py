"""Pack stored items into envelopes: one topic per message, as many records as fit the size cap."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge_agent.store.items import StoredItem

from .codec import Compression, encode_batch, envelope_overhead, record_json
from .topics import Topics

_ID_OVERHEAD = envelope_overhead(uuid.uuid4().hex)


@dataclass(slots=True)
class Batch:
    """One MQTT message to publish: its topic, the ids it carries and its encoded payload."""

    topic: str
    ids: list[str] = field(default_factory=list)
    #: What the outbox must leave out to skip this topic: (class, kind), or (class, None) when
    #: every kind of the class shares the topic (readings).
    keys: set[tuple[int, str | None]] = field(default_factory=set)
    records: list[bytes] = field(default_factory=list)
    size: int = _ID_OVERHEAD
    payload: bytes = b""

    def seal(self, *, historical: bool, compression: Compression) -> Batch:
        self.payload = encode_batch(
            self.records, batch_id=uuid.uuid4().hex, historical=historical, compression=compression
        )
        self.records = []  # the payload holds them now; free the copies
        return self


def make_batches(
    items: Sequence[StoredItem],
    topics: Topics,
    *,
    max_batch_bytes: int,
    historical: bool,
    compression: Compression,
) -> list[Batch]:
    """Group `items` by topic, keeping their order, cutting a message before it passes the cap.

    The messages come out in the order of their first record, so the store's order (summaries,
    then events, then readings) holds across messages: a class whose records fill several
    messages does not overtake the small ones of a class before it, whose messages are sealed
    only at the end. A single record larger than the cap still travels, alone in its message.
    """
    open_batches: dict[str, tuple[int, Batch]] = {}
    done: list[tuple[int, Batch]] = []
    for index, item in enumerate(items):
        topic = topics.batch(item.cls, item.kind)
        record = record_json(item)
        opened = open_batches.get(topic)
        if opened is not None:
            first, batch = opened
            if batch.records and batch.size + 1 + len(record) > max_batch_bytes:
                done.append((first, batch.seal(historical=historical, compression=compression)))
                opened = None
        if opened is None:
            opened = open_batches[topic] = (index, Batch(topic))
        batch = opened[1]
        batch.ids.append(item.id)
        batch.keys.add(topics.outbox_key(item.cls, item.kind))
        batch.records.append(record)
        batch.size += len(record) + 1
    done.extend(
        (first, b.seal(historical=historical, compression=compression))
        for first, b in open_batches.values()
    )
    done.sort(key=lambda pair: pair[0])
    return [batch for _, batch in done]
