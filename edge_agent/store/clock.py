"""The PC's wall clock as the store sees it: steps against the kernel's boot clock, and sync state.

A branch PC may boot with a stale clock (a flat RTC battery, months in a store room) and be put
right by NTP minutes later, once the 5G link is up; or an engineer sets it by hand. The store
stamps `accepted_at` with the wall clock and ages unsent items out by it, so a step forward of 40
days would age out what was accepted a minute ago (steps.py moves the stamps instead). The boot
clock (`CLOCK_BOOTTIME`: monotonic, counting suspend too) is never stepped, so the wall clock minus
the boot clock changes only when the wall clock is stepped or slewed. Slewing is slow (timesyncd
and ntpd at most 0.5 ms a second; chrony up to 83 ms a second, so over a minute without a check
it may show as a small step: moving the stamps with it is right either way).
"""

from __future__ import annotations

import ctypes
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STEP_S = 2.0  # a change of the wall clock against the boot clock at least this big is a step
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_clock() -> float:
    """Seconds since boot, suspend included; never stepped."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


def boot_id() -> str | None:
    """This boot's id (Linux), or None where there is none: each start then counts as a boot."""
    try:
        return _BOOT_ID.read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class Boot:
    """The clock that is never stepped, and which boot it counts from."""

    clock: Callable[[], float] = boot_clock
    id: Callable[[], str | None] = boot_id


_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC)


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)  # the process's own symbols: libc is among them


def kernel_synced() -> bool | None:
    """Whether the kernel holds the clock synchronised (NTP, chrony, timesyncd), as `timedatectl`
    shows it; None where that cannot be read. Read-only: `adjtimex` with no modes set."""
    try:
        state = int(_libc().adjtimex(ctypes.create_string_buffer(512)))  # struct timex, zeroed
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != _TIME_ERROR


@dataclass(frozen=True, slots=True)
class ClockSteps:
    """What the store has seen of the wall clock being stepped since it opened."""

    steps: int = 0
    last_step_s: float | None = None  # + forward, - backward
    last_step_at: float | None = None  # wall-clock time when the store saw it


class StepWatch:
    """Tells, on each `check()`, by how much the wall clock was stepped since the last check."""

    def __init__(self, wall: Callable[[], float], boot: Callable[[], float] = boot_clock) -> None:
        self._wall = wall
        self._boot = boot
        self.skew = wall() - boot()  # wall minus boot clock at the last check
        self.seen = ClockSteps()

    def check(self) -> float:
        """The step since the last check in seconds (0.0 when there was none)."""
        skew = self._wall() - self._boot()
        step, self.skew = skew - self.skew, skew  # follow slewing too
        if abs(step) < STEP_S:
            return 0.0
        self.record(step)
        return step

    def record(self, step: float) -> None:
        self.seen = ClockSteps(self.seen.steps + 1, round(step, 3), self._wall())
