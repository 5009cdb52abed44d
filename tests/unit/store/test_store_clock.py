"""The wall clock stepped under a running store (NTP putting a stale clock right, or by hand).

A real on-disk store; the wall clock and the kernel's boot clock are the test's own, so a step is
the wall clock moving while the boot clock does not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from edge_agent.settings.store import StoreSettings
from edge_agent.store import ItemClass, Store
from edge_agent.store.clock import Boot
from edge_agent.store.steps import META_KEY
from tests.unit.store.store_helpers import T0, FakeClock, item

DAY = 86400.0


class Clocks:
    """A wall clock and a boot clock: `wait` moves both, `step` only the wall clock, `reboot`
    starts a new boot (its clock from 5 s, a new boot id)."""

    def __init__(self) -> None:
        self.wall = FakeClock(T0)
        self.boot = FakeClock(1000.0)
        self.boot_id = "boot-1"

    def wait(self, s: float) -> None:
        self.wall.now += s
        self.boot.now += s

    def step(self, s: float) -> None:
        self.wall.now += s

    def reboot(self) -> None:
        self.boot.now = 5.0
        self.boot_id += "+"


@pytest.fixture
async def clocks(tmp_path: Path) -> AsyncIterator[Any]:
    c = Clocks()
    opened: list[Store] = []

    async def open_store(**overrides: Any) -> Store:
        settings = StoreSettings(**{"commit_interval_ms": 2, "max_age_days": 30, **overrides})
        boot = Boot(clock=c.boot, id=lambda: c.boot_id)
        store = Store(tmp_path / "edge-agent.db", settings, clock=c.wall, boot=boot)
        await store.open()
        opened.append(store)
        return store

    c.open_store = open_store  # type: ignore[attr-defined]
    yield c
    for store in opened:
        await store.close()


async def test_a_stale_clock_put_right_by_40_days_ages_out_nothing_accepted_before(
    clocks: Any,
) -> None:
    # A PC that spent two months in a store room boots 40 days behind; NTP steps it a minute later.
    store = await clocks.open_store()
    await store.put([item(ItemClass.SUMMARY, 0), item(ItemClass.READING, 1)])
    clocks.wait(60)
    with capture_logs() as logs:
        clocks.step(40 * DAY)
        await store.put([item(ItemClass.READING, 2)])
        dropped = await store.prune()

    assert dropped == {"summary": 0, "event": 0, "reading": 0}
    assert [p.data["n"] for p in await store.pending(10)] == [0, 1, 2]
    stats = await store.stats()
    assert stats.oldest_age_s is not None and stats.oldest_age_s < 120  # a minute, not 40 days
    assert (stats.clock_steps.steps, stats.clock_steps.last_step_s) == (1, 40 * DAY)
    [warning] = [e for e in logs if e["event"] == "clock_stepped"]
    assert warning["by_s"] == 40 * DAY
    assert not [e for e in logs if e["event"] == "store_aged_out"]


async def test_the_age_policy_still_drops_items_that_really_are_old_after_a_step(
    clocks: Any,
) -> None:
    store = await clocks.open_store()
    await store.put([item(ItemClass.EVENT, 0)])  # stamped by a clock that was right
    await store.close()
    clocks.wait(29.5 * DAY)  # the PC was off; the next boot starts with its clock behind
    clocks.reboot()
    clocks.step(-1 * DAY)

    again = await clocks.open_store()
    await again.put([item(ItemClass.EVENT, 1)])
    clocks.step(1 * DAY)  # NTP puts it right: the first item is 29.5 days old, past 30 soon
    clocks.wait(DAY)
    assert await again.prune() == {"summary": 0, "event": 1, "reading": 0}
    assert [p.data["n"] for p in await again.pending(10)] == [1]


async def test_a_clock_stepped_back_stamps_by_the_corrected_clock_and_keeps_seq_order(
    clocks: Any,
) -> None:
    # An RTC an hour fast, put right by NTP: new items are stamped by the right time at once
    # instead of waiting an hour at the stamp of the last item before the step.
    store = await clocks.open_store()
    await store.put([item(ItemClass.EVENT, 0)])
    clocks.wait(10)
    clocks.step(-3600)
    await store.put([item(ItemClass.EVENT, 1)])
    clocks.wait(1)
    await store.put([item(ItemClass.EVENT, 2)])

    first, second, third = await store.pending(10)
    assert first.accepted_at == T0 - 3600
    assert second.accepted_at == T0 + 10 - 3600
    assert third.accepted_at == T0 + 11 - 3600
    assert (await store.stats()).clock_steps.last_step_s == -3600


async def test_a_step_back_never_moves_stamps_before_an_earlier_boots_last_one(
    clocks: Any,
) -> None:
    store = await clocks.open_store()
    await store.put([item(ItemClass.EVENT, 0)])
    await store.close()
    clocks.wait(10)
    clocks.reboot()
    again = await clocks.open_store()
    await again.put([item(ItemClass.EVENT, 1)])
    clocks.step(-3600)
    await again.put([item(ItemClass.EVENT, 2)])

    stamps = [p.accepted_at for p in await again.pending(10)]
    assert stamps == sorted(stamps), "accepted_at never decreases with seq (the outbox index)"
    assert stamps[0] == T0


async def test_drift_below_two_seconds_is_slewing_not_a_step(clocks: Any) -> None:
    store = await clocks.open_store()
    for _ in range(5):
        await store.put([item(ItemClass.READING, 0)])
        clocks.wait(60)
        clocks.step(0.5)
    stats = await store.stats()
    assert stats.clock_steps.steps == 0
    stamps = [p.accepted_at for p in await store.pending(10)]
    assert stamps == [T0 + n * 60.5 for n in range(5)], "stamps are left as they were"


async def test_a_command_audited_before_a_step_forward_is_still_remembered_as_done(
    clocks: Any,
) -> None:
    # A retained `power on` is delivered again on every reconnect: its id must still be known
    # after NTP moves the clock on by more than max_age_days, or the screen is switched on again.
    store = await clocks.open_store()
    await store.command_record({"id": "hq-1"}, {"ok": True, "ts": clocks.wall.now})
    clocks.step(40 * DAY)
    await store.prune()
    done = await store.command_get("hq-1")
    assert done is not None and done["finished_at"] == T0 + 40 * DAY


async def test_a_stale_boot_after_an_earlier_one_is_stamped_no_later_than_now_once_put_right(
    clocks: Any,
) -> None:
    # Staged at the depot (a row at T0), then booted at the branch with the clock 200 days behind
    # T0: its rows are stamped T0 (stamps never go back with seq). NTP then steps +200 days.
    store = await clocks.open_store()
    await store.put([item(ItemClass.EVENT, 0)])
    await store.close()
    clocks.reboot()
    clocks.step(-200 * DAY)
    again = await clocks.open_store()
    await again.put([item(ItemClass.EVENT, 1)])
    clocks.wait(60)
    clocks.step(200 * DAY)
    await again.put([item(ItemClass.EVENT, 2)])
    clocks.wait(3600)
    await again.put([item(ItemClass.EVENT, 3)])

    stamps = [p.accepted_at for p in await again.pending(10)]
    assert stamps[0] == T0
    assert stamps[1] <= stamps[2] <= T0 + 60 + 1e-6, "not 200 days in the future"
    assert stamps[3] == clocks.wall.now, "a row an hour later is stamped by the clock"


async def test_a_restart_in_the_same_boot_still_moves_the_earlier_runs_rows(clocks: Any) -> None:
    # An engineer restarts the agent twice before the link (and NTP) are up.
    store = await clocks.open_store()
    await store.put([item(ItemClass.READING, 0)])
    await store.close()
    clocks.wait(30)
    again = await clocks.open_store()
    await again.put([item(ItemClass.READING, 1)])
    clocks.wait(30)
    clocks.step(40 * DAY)
    assert await again.prune() == {"summary": 0, "event": 0, "reading": 0}
    assert [p.data["n"] for p in await again.pending(10)] == [0, 1]


async def test_a_step_while_the_agent_was_stopped_is_followed_when_it_starts(
    clocks: Any,
) -> None:
    store = await clocks.open_store()
    await store.put([item(ItemClass.READING, 0)])
    await store.close()
    clocks.wait(30)
    with capture_logs() as logs:
        clocks.step(40 * DAY)  # NTP's first sync came while the agent was stopped
        again = await clocks.open_store()
        assert await again.prune() == {"summary": 0, "event": 0, "reading": 0}
    assert [p.data["n"] for p in await again.pending(10)] == [0]
    [said] = [e for e in logs if e["event"] == "clock_stepped"]
    assert said["while_stopped"] is True and said["by_s"] == 40 * DAY
    assert (await again.stats()).clock_steps.steps == 1


async def test_weeks_of_slewing_are_not_taken_for_a_step_at_the_next_restart(
    clocks: Any,
) -> None:
    store = await clocks.open_store()
    for n in range(5):  # 0.9 s a minute: below a step each time, 4.5 s in all
        await store.put([item(ItemClass.READING, n)])
        clocks.wait(60)
        clocks.step(0.9)
    await store.put([item(ItemClass.READING, 5)])
    await store.close()
    with capture_logs() as logs:
        again = await clocks.open_store()
        await again.put([item(ItemClass.READING, 6)])
    assert not [e for e in logs if e["event"] == "clock_stepped"]
    assert (await again.stats()).clock_steps.steps == 0


async def test_commands_of_this_boot_follow_a_step_after_every_older_command_was_pruned(
    clocks: Any,
) -> None:
    # The audit had one command, long ago; it is pruned when the store opens after the PC was off
    # for longer than max_age_days. Rowids must not be handed out again, or this boot's commands
    # look like an earlier boot's and stay behind when NTP steps the clock.
    store = await clocks.open_store()
    await store.command_record({"id": "old-1"}, {"ok": True, "ts": clocks.wall.now})
    await store.close()
    clocks.reboot()
    clocks.wait(31 * DAY)
    again = await clocks.open_store()
    await again.command_record({"id": "new-1"}, {"ok": True, "ts": clocks.wall.now})
    clocks.step(40 * DAY)
    await again.prune()
    assert await again.command_get("new-1") is not None


async def test_a_boot_record_that_is_not_one_starts_a_new_record_instead_of_stopping_the_store(
    clocks: Any, tmp_path: Path
) -> None:
    store = await clocks.open_store()
    await store.meta_set(
        META_KEY, json.dumps({"boot_id": "boot-1", "skew": None, "seq0": 1, "cmd0": 0})
    )
    await store.close()
    again = await clocks.open_store()  # before: TypeError, and the daemon did not start
    await again.put([item(ItemClass.EVENT, 0)])
    clocks.step(40 * DAY)
    assert await again.prune() == {"summary": 0, "event": 0, "reading": 0}
