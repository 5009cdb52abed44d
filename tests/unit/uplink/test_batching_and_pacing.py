"""Batch sizing and topics, token bucket budget and reconnect backoff (no sleeping, fake clocks)."""

from __future__ import annotations

import random

from edge_agent.backoff import Backoff
from edge_agent.store.items import ItemClass, StoredItem
from edge_agent.uplink.batching import make_batches
from edge_agent.uplink.codec import decode_batch
from edge_agent.uplink.pacing import TokenBucket
from edge_agent.uplink.topics import Topics

TOPICS = Topics.for_agent("edge/v1", "wf-001", "ipc-1")


def item(
    n: int, cls: ItemClass = ItemClass.EVENT, kind: str = "footfall", pad: int = 100
) -> StoredItem:
    return StoredItem(id=f"i{n}", seq=n, cls=cls, kind=kind, device=None, ts=0.0, accepted_at=0.0,
                      data={"pad": "x" * pad})  # fmt: skip


def test_batches_respect_the_size_cap_and_keep_every_id_once() -> None:
    items = [item(i) for i in range(500)]
    batches = make_batches(
        items, TOPICS, max_batch_bytes=4096, historical=False, compression="none"
    )
    assert all(len(b.payload) <= 4096 for b in batches)
    assert [i for b in batches for i in b.ids] == [f"i{n}" for n in range(500)]
    assert len(batches) < 30


def test_an_oversized_record_travels_alone() -> None:
    batches = make_batches(
        [item(1, pad=10_000), item(2)],
        TOPICS,
        max_batch_bytes=1024,
        historical=False,
        compression="none",
    )
    assert [b.ids for b in batches] == [["i1"], ["i2"]]


def test_classes_go_to_their_topics_and_wildcards_cannot_leak_into_a_topic() -> None:
    items = [
        item(1, ItemClass.SUMMARY, "occupancy"),
        item(2, ItemClass.READING, "co2"),
        item(3, kind="a/#+b"),
    ]
    topics = {
        b.topic
        for b in make_batches(
            items, TOPICS, max_batch_bytes=4096, historical=True, compression="none"
        )
    }
    assert topics == {
        "edge/v1/wf-001/ipc-1/summaries/occupancy",
        "edge/v1/wf-001/ipc-1/events/reading",
        "edge/v1/wf-001/ipc-1/events/a___b",
    }


def test_historical_flag_is_set_on_every_backlog_batch() -> None:
    batches = make_batches(
        [item(i) for i in range(10)],
        TOPICS,
        max_batch_bytes=2048,
        historical=True,
        compression="zstd",
    )
    assert all(decode_batch(b.payload).historical for b in batches)


def test_command_topics_are_parsed_and_results_are_not_commands() -> None:
    assert TOPICS.command_target("edge/v1/wf-001/ipc-1/cmd/lobby") == "lobby"
    assert TOPICS.command_target("edge/v1/wf-001/ipc-1/cmd/lobby/result") is None
    assert TOPICS.command_target("edge/v1/other/ipc-1/cmd/lobby") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_burst_then_the_configured_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 1e9, burst_s=1, clock=clock)
    sent = 0
    for _ in range(10_000):  # 5 simulated seconds in 1 ms steps
        if bucket.delay_for(100) == 0:
            bucket.take(100)
            sent += 1
        clock.now += 0.0005
    assert sent <= 10 + 10 * clock.now + 1
    assert sent >= 10 * clock.now


def test_token_bucket_byte_budget_limits_large_messages() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, 10_000, burst_s=1, clock=clock)
    sent_bytes = 0
    for _ in range(4000):
        if bucket.delay_for(3000) == 0:
            bucket.take(3000)
            sent_bytes += 3000
        clock.now += 0.001
    assert sent_bytes <= 10_000 + 10_000 * clock.now + 3000


def test_backoff_grows_but_stays_under_the_cap() -> None:
    backoff = Backoff(base_s=0.1, cap_s=1.5, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(50)]
    assert all(0.05 <= d <= 1.5 for d in delays)
    assert max(delays[10:]) > 0.4
    backoff.reset()
    assert backoff.next_delay() <= 0.1
