"""Steps of the wall clock, seen against the kernel's boot clock.

A branch PC may boot with a stale clock (a dead RTC battery, months in a store room) and be put
right by NTP minutes later, once the 5G link is up; or an engineer sets it by hand. The store
stamps `accepted_at` with the wall clock and ages unsent items out by it, so a step forward of 40
days would age out what was accepted a minute ago. The boot clock (`CLOCK_BOOTTIME`: monotonic,
counting suspend too) does not step, so the wall clock minus the boot clock changes only when
the wall clock is stepped. NTP's slewing moves it by at most 0.5 ms a second, far below `STEP_S`
between two checks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STEP_S = 2.0  # a change of the wall clock against the boot clock at least this big is a step


def boot_clock() -> float:
    """Seconds since boot, suspend included; never stepped."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised (STA_UNSYNC)


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


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

    count: int = 0
    last_by_s: float | None = None  # + forward, - backward
    last_at: float | None = None  # wall-clock time just after the last step


class StepWatch:
    """Tells, on each `check()`, by how much the wall clock was stepped since the last check."""

    def __init__(self, wall: Callable[[], float], boot: Callable[[], float] = boot_clock) -> None:
        self._wall = wall
        self._boot = boot
        self._skew = wall() - boot()
        self.steps = ClockSteps()

    def check(self) -> float:
        """The step since the last check in seconds (0.0 when there was none)."""
        wall = self._wall()
        skew = wall - self._boot()
        step, self._skew = skew - self._skew, skew  # follow slewing too
        if abs(step) < STEP_S:
            return 0.0
        self.steps = ClockSteps(self.steps.count + 1, round(step, 3), wall)
        return step
