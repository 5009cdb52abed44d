"""How often a broker outage is logged: once at the start, then once a minute, once at the end."""

from __future__ import annotations

import pytest

from edge_agent.uplink.outage import Outage, Recovery, Say


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_hour_of_retries_every_second_says_one_line_a_minute() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    said = []
    for _ in range(3600):  # one failed attempt a second for an hour
        said.append(outage.failed())
        clock.now += 1.0
    assert said[0] is Say.FIRST
    assert said.count(Say.FIRST) == 1
    assert said.count(Say.BUFFERING) == 59  # minutes 1..59
    assert said[60] is Say.BUFFERING and said[59] is Say.NOTHING
    assert outage.attempts == 3600


def test_recovery_reports_the_outage_and_the_next_failure_is_a_new_first() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    assert outage.recovered() is None  # no outage: nothing to report
    outage.failed()
    clock.now += 12.34
    outage.failed()
    assert outage.active and outage.down_for_s() == pytest.approx(12.34)
    assert outage.recovered() == Recovery(attempts=2, down_for_s=12.3)
    assert not outage.active and outage.attempts == 0 and outage.down_for_s() == 0.0
    assert outage.failed() is Say.FIRST


def test_a_clock_going_backwards_never_floods() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    outage.failed()
    clock.now -= 500
    assert [outage.failed() for _ in range(100)].count(Say.BUFFERING) == 0
    assert outage.down_for_s() == 0.0
