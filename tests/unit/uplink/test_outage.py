"""How often a broker outage is logged: once at the start, once a minute, once when its cause
changes (bounded when it flaps), once at the end."""

from __future__ import annotations

import itertools

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
        said.append(outage.failed("unreachable"))
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
    outage.failed("unreachable")
    clock.now += 12.34
    outage.failed("unreachable")
    assert outage.active and outage.down_for_s() == pytest.approx(12.34)
    assert outage.recovered() == Recovery(attempts=2, down_for_s=12.3)
    assert not outage.active and outage.attempts == 0 and outage.down_for_s() == 0.0
    assert outage.failed("unreachable") is Say.FIRST


def test_a_clock_going_backwards_never_floods() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    outage.failed("unreachable")
    clock.now -= 500
    assert [outage.failed("unreachable") for _ in range(100)].count(Say.BUFFERING) == 0
    assert outage.down_for_s() == 0.0


def test_a_broker_back_with_a_new_failure_is_said_once_with_what_it_was() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    said = []
    for reason in ["unreachable"] * 20 + ["auth_failed"] * 200:  # the password was changed
        said.append(outage.failed(reason))
        clock.now += 1.0
    assert said[0] is Say.FIRST
    assert said[20] is Say.CHANGED and outage.was == "unreachable"
    assert said.count(Say.CHANGED) == 1
    # the reminder keeps its minute, counted from the last line
    assert [i for i, s in enumerate(said) if s is Say.BUFFERING] == [80, 140, 200]


def test_flapping_between_two_failures_says_at_most_one_line_a_minute() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    said = []
    for i in range(3600):  # an hour of attempts a second apart, the cause alternating
        said.append(outage.failed(("unreachable", "tls_failed")[i % 2]))
        clock.now += 1.0
    lines = [i for i, s in enumerate(said) if s is not Say.NOTHING]
    assert said[1] is Say.CHANGED  # the first change is said at once
    assert len(lines) <= 61  # the first line, then at most one a minute
    assert all(b - a >= 60 for a, b in itertools.pairwise(lines[1:]))


def test_a_broker_restart_and_a_weak_link_are_not_changes_of_cause() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    said = [outage.failed("disconnected")]  # the session dropped
    for i in range(119):  # then refused connects, and timeouts on a weak link
        clock.now += 1.0
        said.append(outage.failed(("unreachable", "timeout")[i % 3 == 0]))
    assert said.count(Say.CHANGED) == 0 and said.count(Say.BUFFERING) == 1
    clock.now += 1.0
    assert outage.failed("auth_failed") is Say.CHANGED  # the broker is back and refuses us
    assert outage.was == "unreachable"  # the latest of them, as `status` showed it


def test_a_second_change_waits_for_the_minute() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    assert outage.failed("unreachable") is Say.FIRST
    clock.now += 1
    assert outage.failed("tls_failed") is Say.CHANGED  # the broker is back, with a bad date
    clock.now += 1
    assert outage.failed("auth_failed") is Say.NOTHING  # too soon after the last line
    clock.now += 59
    assert outage.failed("auth_failed") is Say.CHANGED and outage.was == "tls_failed"
    clock.now += 1
    assert outage.failed("auth_failed") is Say.NOTHING


def test_a_new_outage_starts_without_the_last_ones_reason() -> None:
    clock = FakeMonotonic()
    outage = Outage(interval_s=60, monotonic=clock)
    outage.failed("unreachable")
    outage.failed("auth_failed")
    outage.recovered()
    assert outage.failed("auth_failed") is Say.FIRST
    clock.now += 1
    assert outage.failed("auth_failed") is Say.NOTHING
