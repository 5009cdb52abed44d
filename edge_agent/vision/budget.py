"""Spare CPU for close-ups: whether a camera can afford `crowd_passes` on its detector runs.

Close-ups of people standing together find many of the people the tile passes miss, but each costs
what a tile pass costs. A PC with one or two cameras has the time; four cameras on two cores have
little. Close-ups help only when they run on every detector run: a person half hidden behind
someone must be found every time to keep one track, and close-ups on a share of the runs were
measured no better than none (models/README.md, ninth round). So a camera has them on or off:

- Its load is the work of its pipeline over about the last two seconds (close-ups left out, the
  frame being processed included so far), over the time those frames span. Live, frames come at
  the camera's pace and the work is wall time, so other cameras competing for the cores show up
  in it; in a replay the video's timestamps set the pace, so a replay alone on a PC decides as
  one live camera would there, however fast it runs.
- Close-ups on every run add `passes` x the wall time of one network pass (timed on the run's own
  tile passes) per detector run, at `detect_fps` (or every frame without it).
- They go on when load plus that stays under `limit`, and off when it goes over `limit + MARGIN`;
  either way a camera keeps its choice at least `HOLD_S`, so they are not on for a few runs at a
  time. Only a camera about to fall behind (load plus close-ups at 1 or more) drops them at once.

On a PC whose CPU does not stretch to close-ups for every camera, the cameras that took them first
keep them and the others do without: `FrameResult.close_ups`, the replay report and the per-minute
camera summary say which.
"""

from __future__ import annotations

import math
from collections import deque

WINDOW_S = 2.0  # the load is measured over about this much of the most recent frames
MIN_FRAMES = 3  # ...and over at least this many, for a camera slower than that
PAUSE_S = 10.0  # frames this far apart are a break in the stream (a reconnect): start over
PASS_WEIGHT = 0.3  # weight of the newest detector run in the average cost of one network pass
HOLD_S = 20.0  # a camera keeps close-ups on, or off, at least this long
MARGIN = 0.1  # close-ups go off only once they would take the load this far over the limit


class CloseUpBudget:
    """One camera's load, and whether its detector runs take close-ups now."""

    def __init__(
        self, limit: float | None, passes: int, detect_fps: float | None, slack: float = 0.0
    ) -> None:
        self.limit = limit  # None: close-ups on every run, whatever the load
        self.passes = passes
        self.detect_fps = detect_fps
        self.slack = slack  # a frame this share of the detector's period early still gets it
        self.on = False
        self._since: float | None = None  # when `on` last changed (frame time)
        self._frames: deque[tuple[float, float]] = deque()  # (ts, work s) of recent frames
        self._pass_s: float | None = None  # wall seconds of one network pass, averaged

    def frame(self, ts: float, work_s: float) -> None:
        """A frame at `ts` took `work_s` seconds, not counting close-ups."""
        if self._frames and not 0 <= ts - self._frames[-1][0] <= PAUSE_S:
            self._frames.clear()  # a new stream, or the clock went back: start over
            self._since = None
        self._frames.append((ts, work_s))
        while len(self._frames) > MIN_FRAMES and ts - self._frames[0][0] > WINDOW_S:
            self._frames.popleft()

    def pass_cost(self, passes: int, seconds: float) -> None:
        """A detector run made `passes` network passes in `seconds` of wall time."""
        if passes > 0:
            cost = seconds / passes
            p = self._pass_s
            self._pass_s = cost if p is None else p + PASS_WEIGHT * (cost - p)

    def load(self, ts: float, working_s: float = 0.0) -> float | None:
        """Share of the time the pipeline works, up to a frame at `ts` that has taken `working_s`.

        None until a second's worth of frames is in (after a start or a break in the stream too),
        or when `ts` lies before them; inf when the timestamps stand still.
        """
        if not self._frames:
            return None
        span = ts - self._frames[0][0]
        if span == 0:
            return math.inf
        if span < WINDOW_S / 2 or ts - self._frames[-1][0] > PAUSE_S:
            return None
        work = sum(w for _, w in self._frames) - self._frames[0][1] + working_s
        return work / span

    def with_close_ups(self, ts: float, working_s: float = 0.0) -> float | None:
        """The load with close-ups on every detector run; None while it cannot be told."""
        load = self.load(ts, working_s)
        if load is None or self._pass_s is None:
            return None
        if math.isinf(load):
            return load
        gap = (ts - self._frames[0][0]) / len(self._frames)  # between frames, on average
        every = gap  # the detector runs on whole frames: every frame, or every n-th
        if self.detect_fps:
            every *= max(1, math.ceil((1.0 - self.slack) / (self.detect_fps * gap) - 1e-9))
        return load + self.passes * self._pass_s / every

    def take(self, ts: float, working_s: float = 0.0) -> bool:
        """Whether this detector run takes close-ups."""
        if self.limit is None:
            return True
        predicted = self.with_close_ups(ts, working_s)
        if predicted is None:
            return self.on  # nothing recent to go by: keep the choice
        held = self._since is None or ts - self._since >= HOLD_S
        if self.on:
            if predicted >= 1.0 or (held and predicted > self.limit + MARGIN):
                self.on, self._since = False, ts
        elif held and predicted < self.limit:
            self.on, self._since = True, ts
        return self.on
