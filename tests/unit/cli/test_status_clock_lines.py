"""`status` says when the PC's clock is not to be trusted, and says nothing when it is."""

from __future__ import annotations

import time

from edge_agent.cli.daemon_cmds import clock_lines


def test_a_synchronised_clock_that_never_stepped_adds_no_line() -> None:
    assert (
        clock_lines({"synced": True, "steps": 0, "last_step_s": None, "last_step_at": None}) == []
    )
    assert (
        clock_lines({"synced": None, "steps": 0, "last_step_s": None, "last_step_at": None}) == []
    )
    assert clock_lines(None) == []  # an older daemon sends no clock


def test_an_unsynchronised_clock_and_a_step_forward_of_40_days_are_named() -> None:
    lines = clock_lines(
        {"synced": False, "steps": 1, "last_step_s": 40 * 86400.0, "last_step_at": time.time() - 30}
    )
    assert "clock not synchronised" in lines[0]
    assert "clock stepped forward 40.0 d" in lines[1] and "30s ago" in lines[1]


def test_a_step_back_is_given_in_seconds() -> None:
    [line] = clock_lines(
        {"synced": True, "steps": 2, "last_step_s": -3600.0, "last_step_at": time.time() - 5}
    )
    assert "clock stepped back 3600 s" in line and "(2 since start)" in line
