"""`ignore` areas: a poster or a mannequin the detector takes for a person never becomes one."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.pipeline import Pipeline

FRAME = np.zeros((480, 640, 3), np.uint8)
POSTER = [320.0, 100.0, 360.0, 240.0, 0.9]  # foot point (0.531, 0.5)
WALKER_X = [100.0, 130.0, 160.0, 190.0, 220.0, 250.0, 280.0, 310.0, 340.0, 370.0]


class Boxes:
    """Hands out the boxes a test lays out for each call, like a detector on successive frames."""

    def __init__(self, frames: list[list[list[float]]]) -> None:
        self.frames = frames
        self.calls = 0

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        boxes = self.frames[min(self.calls, len(self.frames) - 1)]
        self.calls += 1
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 5)


def camera(**extra: object) -> CameraSettings:
    return CameraSettings.model_validate(
        {
            "id": "lobby",
            "source": "-",
            "detect_fps": None,
            "lines": [{"id": "door", "points": [[0.4, 0.3], [0.4, 0.95]]}],
            "zones": [{"id": "hall", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
            **extra,
        }
    )


def run(cam: CameraSettings, frames: list[list[list[float]]]) -> tuple[list[int], dict[str, int]]:
    pipe = Pipeline(cam, Boxes(frames))
    people = [pipe.process(i * 0.1, FRAME).people for i in range(len(frames))]
    return people, pipe.lines.totals["door"]


def walker(x: float) -> list[float]:
    return [x, 260.0, x + 40.0, 400.0, 0.9]


def test_a_poster_is_a_person_until_its_place_is_ignored() -> None:
    frames = [[POSTER] for _ in range(10)]
    assert run(camera(), frames)[0][-1] == 1
    poster_area = {"points": [[0.45, 0.4], [0.6, 0.4], [0.6, 0.6], [0.45, 0.6]], "note": "poster"}
    assert run(camera(ignore=[poster_area]), frames)[0] == [0] * 10


def test_people_outside_an_ignored_area_still_count() -> None:
    poster_area = {"points": [[0.45, 0.4], [0.6, 0.4], [0.6, 0.6], [0.45, 0.6]]}
    frames = [[POSTER, walker(x)] for x in WALKER_X]  # walks left to right, past the door line
    people, door = run(camera(ignore=[poster_area]), frames)
    assert people[-1] == 1
    assert door == {"in": 0, "out": 1}


def test_an_ignored_area_outside_the_picture_is_refused_with_its_place() -> None:
    with pytest.raises(ValidationError) as err:
        camera(ignore=[{"points": [[0.1, 0.1], [1.4, 0.1], [0.5, 0.5]]}])
    assert "ignore.0.points" in str(err.value)
    assert "outside the image" in str(err.value)
