"""The detector's own rate (`detect_fps`) on the timestamps a live camera really delivers."""

from __future__ import annotations

import numpy as np

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.pipeline import Pipeline

FRAME = np.zeros((48, 64, 3), np.uint8)


class Counting:
    """A detector that finds nobody and counts how often it is asked."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.zeros((0, 5), np.float32)


def detector_runs(stamps: list[float], detect_fps: float) -> int:
    det = Counting()
    cam = CameraSettings.model_validate(
        {"id": "door", "source": "-", "detect_fps": detect_fps, "motion_gate": False}
    )
    pipe = Pipeline(cam, det)
    for ts in stamps:
        pipe.process(ts, FRAME)
    return det.calls


def test_every_third_frame_of_a_steady_10_fps_stream_at_3_4_hz() -> None:
    assert detector_runs([k * 0.1 for k in range(30)], 3.4) == 10


def test_frames_arriving_a_little_early_or_late_keep_the_detector_rate() -> None:
    # a network camera's frames come +-12 ms around their slot, so some third frames are 0.276 s
    # after the last detection instead of 0.3: waiting for a fourth frame would lose a quarter
    jittery = [k * 0.1 + 0.012 * (-1) ** k for k in range(30)]
    assert detector_runs(jittery, 3.4) == 10


def test_the_detector_never_runs_faster_than_asked() -> None:
    assert detector_runs([k * 0.1 for k in range(30)], 5.0) == 15  # every second frame, not more
