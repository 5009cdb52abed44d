"""Spare CPU for close-ups: whether a camera can afford the detector's `crowd_passes` right now.

Close-ups of people standing together find many of the people the tile passes miss, but each costs
what a tile pass costs. A PC with one or two cameras has the time; four cameras on two cores do
not. So every detector run asks: with close-ups added, would this camera's pipeline still take
less than `crowd_load` of the time between its frames?

- The load is the pipeline's work per frame (close-ups left out) over the time between frames,
  both averaged over about the last second. Live, frames come at the camera's pace and the work
  is wall time, so other cameras competing for the CPU show up in it. In a replay, the video's
  own timestamps set the pace, so the answer is what the same camera would get live on this PC,
  however fast the replay runs.
- What close-ups would add is `passes` x the wall time of one network pass (measured on the tile
  passes of each run) over the time between detector runs.

The answer depends on the machine and on what else runs on it: `FrameResult.close_ups` and the
replay report say how many close-ups were run.
"""

from __future__ import annotations

import math

WEIGHT = 0.1  # weight of the newest frame in the load average: about the last second at 10 fps
RUN_WEIGHT = 0.3  # weight of the newest detector run in the pass-cost and run-interval averages


class _Average:
    """Exponential moving average; the first sample is taken as it is."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.value: float | None = None

    def add(self, x: float) -> None:
        self.value = x if self.value is None else self.value + self.weight * (x - self.value)


class CloseUpBudget:
    """Tracks one camera's load and decides whether the next detector run may add close-ups."""

    def __init__(self, limit: float | None, passes: int) -> None:
        self.limit = limit  # None: close-ups whatever the load
        self.passes = passes
        self._work = _Average(WEIGHT)  # seconds of work per frame, close-ups left out
        self._gap = _Average(WEIGHT)  # seconds between frames
        self._pass_s = _Average(RUN_WEIGHT)  # wall seconds of one network pass
        self._run_gap = _Average(RUN_WEIGHT)  # seconds between detector runs
        self._last_ts: float | None = None
        self._last_run_ts: float | None = None

    def frame(self, ts: float, work_s: float) -> None:
        """A frame at `ts` took `work_s` seconds, not counting close-ups."""
        if self._last_ts is not None:
            self._gap.add(max(ts - self._last_ts, 0.0))
            self._work.add(work_s)
        self._last_ts = ts

    def detector_ran(self, ts: float, passes: int, seconds: float) -> None:
        """A detector run at `ts` made `passes` network passes in `seconds` (wall time)."""
        if passes > 0:
            self._pass_s.add(seconds / passes)
        if self._last_run_ts is not None:
            self._run_gap.add(max(ts - self._last_run_ts, 0.0))
        self._last_run_ts = ts

    @property
    def load(self) -> float:
        """Work over time between frames, close-ups left out; 0.0 until two frames are in."""
        work, gap = self._work.value, self._gap.value
        if work is None or gap is None:
            return 0.0
        return work / gap if gap > 0 else math.inf

    @property
    def with_close_ups(self) -> float | None:
        """The load close-ups on every detector run would give; None until it can be told."""
        pass_s, run_gap = self._pass_s.value, self._run_gap.value
        if pass_s is None or run_gap is None or self._work.value is None:
            return None
        if run_gap <= 0:
            return math.inf
        return self.load + self.passes * pass_s / run_gap

    def allows(self) -> bool:
        """Close-ups now: always without a limit; else once the load is known and stays under."""
        if self.limit is None:
            return True
        predicted = self.with_close_ups
        return predicted is not None and predicted < self.limit
