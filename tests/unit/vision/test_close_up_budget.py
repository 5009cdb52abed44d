"""Close-ups run on spare CPU only (detector `crowd_load`, vision/budget.py).

The pipeline's clock is a fake one that the stub detector moves on by a set cost per network pass,
so "the PC got busy" is exact and the tests never depend on how fast this machine is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.budget import HOLD_S, CloseUpBudget
from edge_agent.vision.pipeline import FrameResult, Pipeline

FRAME = np.zeros((480, 640, 3), np.uint8)
NEAR = (300.0, 200.0, 340.0, 300.0)  # a person 100 px tall
BEHIND = (325.0, 195.0, 362.0, 290.0)  # another, half behind them: only a close-up finds them


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Knobs:
    crowd_passes: int = 2
    crowd_load: float | None = 0.6
    nms_iou: float = 0.45


class TimedStub:
    """One tile pass finds the nearer person; a close-up around them finds the one behind too.

    Every network pass moves the clock on by `pass_s`, as a real pass takes CPU time.
    """

    def __init__(self, clock: Clock, knobs: Knobs) -> None:
        self.clock, self.settings = clock, knobs
        self.pass_s = 0.005
        self.passes = 0

    def _spend(self, n: int) -> None:
        self.passes += n
        self.clock.now += n * self.pass_s

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        self._spend(1)
        return np.asarray([[*NEAR, 0.9]], np.float32)

    def detect_crops(
        self, frame_bgr: np.ndarray, crops: list[tuple[int, int, int, int]]
    ) -> np.ndarray:
        self._spend(len(crops))
        whole = [c for c in crops if c[0] <= BEHIND[0] and BEHIND[2] <= c[2]]
        found = [[*NEAR, 0.8], [*BEHIND, 0.7]] if whole else []
        return np.asarray(found, np.float32).reshape(-1, 5)


def camera() -> CameraSettings:
    return CameraSettings.model_validate({"id": "door", "source": "-", "detect_fps": None})


def run(
    pipe: Pipeline, stub: TimedStub, start: int, frames: int, pass_s: float
) -> list[FrameResult]:
    """`frames` frames at 10 fps (video time), each network pass costing `pass_s` of work."""
    stub.pass_s = pass_s
    return [pipe.process((start + i) / 10, FRAME) for i in range(frames)]


def runs_with_close_ups(results: list[FrameResult]) -> list[bool]:
    return [r.close_ups > 0 for r in results if r.detected]


def test_close_ups_go_on_with_time_to_spare_and_off_before_the_camera_falls_behind() -> None:
    clock = Clock()
    stub = TimedStub(clock, Knobs())
    pipe = Pipeline(camera(), stub, clock=clock)

    # 5 ms a pass against 100 ms between frames: plenty of time, so the one behind is found.
    idle = run(pipe, stub, 0, 100, pass_s=0.005)
    assert all(runs_with_close_ups(idle[20:]))
    assert idle[-1].people == 2
    assert idle[-1].close_ups_on is True  # what `edge-agent status` shows

    # 70 ms a pass: the tile pass alone takes 70 % of the time; with close-ups the camera would
    # fall behind, so they stop at once, without waiting out the hold.
    full = run(pipe, stub, 100, 100, pass_s=0.07)
    assert not any(runs_with_close_ups(full[5:]))
    assert full[-1].people == 1  # the hidden person is no longer found, and drops out
    assert full[-1].close_ups_on is False

    # Time to spare again: back on, but only once the choice to stop has held for HOLD_S.
    again = run(pipe, stub, 200, 300, pass_s=0.005)
    stopped = max(r.ts for r in idle + full if r.close_ups) + 0.1
    resumed = min(r.ts for r in again if r.close_ups)
    assert HOLD_S <= resumed - stopped <= HOLD_S + 0.5
    assert all(runs_with_close_ups([r for r in again if r.ts >= resumed]))
    assert again[-1].people == 2


def test_a_camera_near_the_limit_keeps_its_choice_for_the_hold() -> None:
    # 30 ms a pass: 30 % for the tiles plus 60 % for close-ups is over the limit (0.6 + 0.1),
    # but not falling behind: a camera that had them keeps them for HOLD_S, then lets them go,
    # and does not take them up again.
    clock = Clock()
    stub = TimedStub(clock, Knobs())
    pipe = Pipeline(camera(), stub, clock=clock)
    run(pipe, stub, 0, 30, pass_s=0.005)
    assert pipe.budget.on
    busy = runs_with_close_ups(run(pipe, stub, 30, 600, pass_s=0.03))
    switched = [i for i in range(1, len(busy)) if busy[i] != busy[i - 1]]
    assert len(switched) == 1  # on, then off, once
    assert switched[0] >= (HOLD_S - 3) * 10  # ran at least the hold (minus the warm-up)
    assert not any(busy[switched[0] :])


def test_a_camera_back_after_a_pause_takes_no_close_ups_on_old_figures() -> None:
    clock = Clock()
    stub = TimedStub(clock, Knobs())
    pipe = Pipeline(camera(), stub, clock=clock)
    run(pipe, stub, 0, 300, pass_s=0.07)  # no time to spare
    back = run(pipe, stub, 600, 40, pass_s=0.07)  # 30 s later, as after a reconnect
    assert not any(runs_with_close_ups(back))


def test_a_slow_camera_decides_too() -> None:
    # One frame every 5 s: idle it takes close-ups; when each frame takes 4.9 s, it drops them.
    budget = CloseUpBudget(0.6, 2, None)
    budget.pass_cost(1, 0.01)
    for i in range(6):
        budget.frame(5.0 * i, 0.02)
    assert budget.take(30.0, 0.02)
    budget.pass_cost(1, 4.9)
    for i in range(6, 10):
        budget.frame(5.0 * i, 4.9)
    assert not budget.take(50.0, 4.9)


def test_a_clock_that_steps_back_keeps_the_choice_and_starts_the_measure_over() -> None:
    budget = CloseUpBudget(0.6, 2, None)
    budget.pass_cost(1, 0.005)
    for i in range(30):
        budget.frame(100 + i / 10, 0.01)
    assert budget.take(103.0, 0.01)
    assert budget.take(0.5, 0.01)  # a file camera starting over: nothing new to go by yet
    budget.frame(0.5, 0.01)
    assert budget.load(0.6) is None  # the old frames are gone


def test_the_detector_is_counted_on_the_frames_it_really_runs_on() -> None:
    # 4 fps with detect_fps 3.4: the detector runs on every second frame (0.5 s), not 3.4 times
    # a second; 10 fps: every third frame (0.3 s).
    for fps, every in ((4, 0.5), (10, 0.3)):
        budget = CloseUpBudget(0.6, 2, 3.4, slack=0.1)
        for i in range(4 * fps):
            budget.frame(i / fps, 0.0)
        budget.pass_cost(1, 0.03)
        got = budget.with_close_ups(4.0)
        assert got == pytest.approx(2 * 0.03 / every)


def test_without_a_load_limit_close_ups_run_however_busy_the_pc_is() -> None:
    clock = Clock()
    stub = TimedStub(clock, Knobs(crowd_load=None))
    pipe = Pipeline(camera(), stub, clock=clock)
    results = run(pipe, stub, 0, 40, pass_s=0.05)  # 150 ms of work for 100 ms between frames
    assert all(runs_with_close_ups(results[5:]))
    assert clock.now > 40 * 0.1  # more work than time: live, this camera would fall behind
    assert results[-1].people == 2


def test_the_load_is_measured_against_the_video_clock_not_the_replay_speed() -> None:
    # 30 ms of work a frame: at 10 fps that is 30 % of the time, at 25 fps 75 %, however fast
    # a replay feeds the frames in.
    for fps, load in ((10, 0.3), (25, 0.75)):
        budget = CloseUpBudget(0.6, 2, None)
        for i in range(50):
            budget.frame(i / fps, 0.03)
        assert budget.load(50 / fps, 0.03) == pytest.approx(load)


def test_the_cost_of_close_ups_is_counted_at_the_detector_rate() -> None:
    budget = CloseUpBudget(0.6, 2, 5.0)  # the detector at 5 Hz
    for i in range(30):
        budget.frame(i / 10, 0.03)  # 30 % of the time
    budget.pass_cost(2, 0.06)  # 30 ms a pass: close-ups on every run add 2 x 30 ms x 5 = 30 %
    assert budget.with_close_ups(3.0, 0.03) == pytest.approx(0.6)


def test_nothing_before_a_measure_and_nothing_when_the_clock_stands_still() -> None:
    budget = CloseUpBudget(0.6, 2, None)
    assert budget.with_close_ups(0.0) is None and not budget.take(0.0)  # nothing measured yet
    for i in range(12):
        budget.frame(i / 10, 0.01)
    budget.pass_cost(2, 0.01)
    assert budget.with_close_ups(1.2, 0.01) == pytest.approx(0.2)  # 10 % load, close-ups 10 %
    assert budget.take(1.2, 0.01)
    frozen = CloseUpBudget(0.6, 2, None)
    for _ in range(5):  # a camera whose timestamps stand still
        frozen.frame(7.0, 0.01)
    frozen.pass_cost(2, 0.01)
    assert frozen.load(7.0) == math.inf and not frozen.take(7.0)
    assert CloseUpBudget(None, 2, None).take(0.0)


class RegionStub(TimedStub):
    """A detector whose region ends at x = 200: the close-ups around x 240-400 are not run."""

    asked = 0

    def detect_crops(
        self, frame_bgr: np.ndarray, crops: list[tuple[int, int, int, int]]
    ) -> np.ndarray:
        self.asked += len(crops)
        self._spend(sum(1 for c in crops if c[0] < 200))
        return np.zeros((0, 5), np.float32)


def test_the_close_ups_reported_are_the_passes_really_run() -> None:
    # HQ reads close_ups per minute: a crop the region cut away cost nothing and is not counted.
    clock = Clock()
    stub = RegionStub(clock, Knobs(crowd_load=None))
    pipe = Pipeline(camera(), stub, clock=clock)
    results = run(pipe, stub, 0, 10, pass_s=0.005)
    assert stub.asked > 0  # close-ups were asked for...
    assert stub.passes == len(results)  # ...but only the tile passes ran
    assert sum(r.close_ups for r in results) == 0
