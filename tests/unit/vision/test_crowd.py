"""Close-ups of people standing together (detector `crowd_passes`): where they go, and their use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.detect.boxes import crowd_crops
from edge_agent.vision.pipeline import Pipeline

FRAME = np.zeros((480, 640, 3), np.uint8)
NEAR = (300.0, 200.0, 340.0, 300.0)  # a person 100 px tall
BEHIND = (325.0, 195.0, 362.0, 290.0)  # another, half behind them


def boxes(*b: tuple[float, float, float, float]) -> np.ndarray:
    return np.asarray(b, dtype=np.float64).reshape(-1, 4)


def test_two_people_side_by_side_get_one_square_close_up_around_both() -> None:
    [crop] = crowd_crops(boxes(NEAR, BEHIND), 640, 480, limit=2)
    x1, y1, x2, y2 = crop
    assert x1 <= 300 and y1 <= 195 and x2 >= 362 and y2 >= 300  # both whole
    assert x2 - x1 == pytest.approx(y2 - y1, abs=2)  # square: the network sees 300x300
    assert y2 - y1 == pytest.approx(105 * 1.6, abs=2)  # padded by 30 % of their height each way


def test_people_far_apart_get_no_close_up() -> None:
    assert crowd_crops(boxes(NEAR, (500, 200, 540, 300)), 640, 480, limit=2) == []
    assert crowd_crops(boxes(NEAR), 640, 480, limit=2) == []
    assert crowd_crops(np.zeros((0, 4)), 640, 480, limit=2) == []


def test_close_ups_stay_in_the_picture_and_the_tallest_pairs_go_first() -> None:
    corner = (0.0, 380.0, 30.0, 480.0), (20.0, 385.0, 50.0, 478.0)  # 100 px, at the edge
    small = (500.0, 100.0, 510.0, 130.0), (505.0, 100.0, 515.0, 131.0)  # 31 px
    crops = crowd_crops(boxes(*small, *corner), 640, 480, limit=1)
    assert len(crops) == 1
    x1, _y1, x2, y2 = crops[0]
    assert (x1, y2) == (0, 480) and x2 > 50
    assert len(crowd_crops(boxes(*small, *corner), 640, 480, limit=4)) == 2


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 600), st.floats(0, 440), st.floats(2, 200), st.floats(2, 300)),
        max_size=12,
    ),
    st.integers(1, 4),
)
def test_any_boxes_give_at_most_limit_crops_inside_the_picture(
    raw: list[tuple[float, float, float, float]], limit: int
) -> None:
    b = boxes(*[(x, y, x + w, y + h) for x, y, w, h in raw])
    crops = crowd_crops(b, 640, 480, limit)
    assert len(crops) <= limit
    for x1, y1, x2, y2 in crops:
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 480


@dataclass(frozen=True)
class Knobs:
    crowd_passes: int
    nms_iou: float = 0.45


class HidingStub:
    """The tiles see only the nearer person; a close-up holding both sees the one behind too."""

    def __init__(self, crowd_passes: int) -> None:
        self.settings = Knobs(crowd_passes)
        self.close_ups = 0

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        return np.asarray([[*NEAR, 0.9]], np.float32)

    def detect_crops(
        self, frame_bgr: np.ndarray, crops: list[tuple[int, int, int, int]]
    ) -> np.ndarray:
        self.close_ups += len(crops)
        whole = [c for c in crops if c[0] <= BEHIND[0] and BEHIND[2] <= c[2]]
        return np.asarray([[*NEAR, 0.8], [*BEHIND, 0.7]] if whole else [], np.float32).reshape(
            -1, 5
        )


@pytest.mark.parametrize(("passes", "people"), [(0, 1), (1, 2)])
def test_the_pipeline_counts_the_person_only_a_close_up_finds(passes: int, people: int) -> None:
    cam = CameraSettings.model_validate({"id": "door", "source": "-", "detect_fps": None})
    stub = HidingStub(passes)
    pipe = Pipeline(cam, stub)
    results = [pipe.process(i / 10, FRAME) for i in range(5)]
    assert results[-1].people == people
    assert results[-1].close_ups_on is (True if passes else None)  # status: on / "-"
    # one close-up a detector run once there is a track to pair the detection with
    assert stub.close_ups == (4 if passes else 0)
