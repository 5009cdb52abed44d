"""Close-ups run on spare CPU only (detector `crowd_load`, vision/budget.py).

The pipeline's clock is a fake one that the stub detector moves on by a set cost per network pass,
so "the PC got busy" is exact and the tests never depend on how fast this machine is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.budget import CloseUpBudget
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


def test_close_ups_stop_while_the_pc_is_busy_and_come_back_when_it_is_not() -> None:
    clock = Clock()
    stub = TimedStub(clock, Knobs())
    pipe = Pipeline(camera(), stub, clock=clock)

    # 5 ms a pass against 100 ms between frames: plenty of time, so the one behind is found.
    idle = run(pipe, stub, 0, 60, pass_s=0.005)
    assert all(r.close_ups > 0 for r in idle[-20:])
    assert idle[-1].people == 2

    # 30 ms a pass: the tile pass alone is 30 % of the time, close-ups would make it 90 %.
    busy = run(pipe, stub, 60, 60, pass_s=0.03)
    assert all(r.close_ups == 0 for r in busy[-40:])
    assert busy[-1].people == 1  # the hidden person is no longer found, and drops out
    assert pipe.budget.load < 0.6  # what is left fits: the camera keeps up

    again = run(pipe, stub, 120, 60, pass_s=0.005)
    assert all(r.close_ups > 0 for r in again[-20:])
    assert again[-1].people == 2


def test_without_a_load_limit_close_ups_run_however_busy_the_pc_is() -> None:
    clock = Clock()
    stub = TimedStub(clock, Knobs(crowd_load=None))
    pipe = Pipeline(camera(), stub, clock=clock)
    results = run(pipe, stub, 0, 40, pass_s=0.05)  # 150 ms of work for 100 ms between frames
    assert all(r.close_ups > 0 for r in results[5:])
    assert (pipe.budget.with_close_ups or 0.0) > 1.0  # more work than time: it falls behind
    assert results[-1].people == 2


def test_the_load_is_measured_against_the_video_clock_not_the_replay_speed() -> None:
    # 30 ms of work a frame: at 10 fps that is 30 % of the time, at 25 fps 75 %, however fast
    # a replay feeds the frames in.
    for fps, load in ((10, 0.3), (25, 0.75)):
        budget = CloseUpBudget(0.6, 2)
        for i in range(50):
            budget.frame(i / fps, 0.03)
        assert math.isclose(budget.load, load, rel_tol=1e-6)


def test_close_ups_wait_until_the_cost_can_be_told_and_a_frozen_clock_stops_them() -> None:
    budget = CloseUpBudget(0.6, 2)
    assert not budget.allows()  # nothing measured yet
    budget.frame(0.0, 0.01)
    budget.detector_ran(0.0, 2, 0.01)
    budget.frame(0.1, 0.01)
    budget.detector_ran(0.1, 2, 0.01)
    assert budget.allows()  # 0.1 + 2 x 5 ms / 100 ms = 0.2
    frozen = CloseUpBudget(0.6, 2)
    for _ in range(5):  # a camera whose timestamps stand still
        frozen.frame(7.0, 0.01)
        frozen.detector_ran(7.0, 2, 0.01)
    assert frozen.load == math.inf and not frozen.allows()
    assert CloseUpBudget(None, 2).allows()
