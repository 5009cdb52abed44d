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

    A single record larger than the cap still travels, alone in its message.
    """
    open_batches: dict[str, Batch] = {}
    done: list[Batch] = []
    for item in items:
        topic = topics.batch(item.cls, item.kind)
        record = record_json(item)
        batch = open_batches.get(topic)
        if batch is not None and batch.records and batch.size + 1 + len(record) > max_batch_bytes:
            done.append(batch.seal(historical=historical, compression=compression))
            batch = None
        if batch is None:
            batch = open_batches[topic] = Batch(topic)
        batch.ids.append(item.id)
        batch.keys.add(topics.outbox_key(item.cls, item.kind))
        batch.records.append(record)
        batch.size += len(record) + 1
    done.extend(
        b.seal(historical=historical, compression=compression) for b in open_batches.values()
    )
    return done
