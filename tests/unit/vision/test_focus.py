"""Focused detection: tile passes run only where something moves or someone is tracked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.detect.ssdlite import needed_crops
from edge_agent.vision.pipeline import FULL_SCAN_S, Pipeline

LEFT, RIGHT = (0, 0, 366, 480), (274, 0, 640, 480)  # 2x1 tiles of a 640x480 frame, 25% overlap
CROPS = [LEFT, RIGHT]
FRAME = np.zeros((480, 640, 3), np.uint8)


def person(cx: float, w: float = 30, h: float = 90) -> tuple[float, float, float, float]:
    return (cx - w / 2, 300 - h, cx + w / 2, 300)


class TileStub:
    """A detector that finds a person only when one of the passes it runs holds them whole."""

    def __init__(self, people: list[tuple[float, float, float, float]]) -> None:
        self.people = people
        self.passes = 0
        self.ran: list[list[tuple[int, int, int, int]]] = []

    def _run(self, crops: list[tuple[int, int, int, int]]) -> np.ndarray:
        self.passes += len(crops)
        self.ran.append(crops)
        found = [
            [*p, 0.9]
            for p in self.people
            if any(c[0] <= p[0] and p[2] <= c[2] and c[1] <= p[1] and p[3] <= c[3] for c in crops)
        ]
        return np.asarray(found, dtype=np.float32).reshape(-1, 5)

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        return self._run(CROPS)

    def detect_where(self, frame_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return self._run(needed_crops(CROPS, boxes))


class StubGate:
    """Says 'motion' on every frame; `motion_boxes` is set by the test."""

    def __init__(self) -> None:
        self.motion_boxes = np.zeros((0, 5), np.float32)

    def update(self, frame: np.ndarray) -> bool:
        return True


def pipeline(det: TileStub, gate: StubGate) -> Pipeline:
    cam = CameraSettings.model_validate({"id": "shop", "source": "-", "detect_fps": None})
    return Pipeline(cam, det, gate=gate)


def test_a_walker_on_the_left_costs_one_pass_not_two() -> None:
    walker = person(100)
    det, gate = TileStub([walker]), StubGate()
    pipe = pipeline(det, gate)
    gate.motion_boxes = np.array([[*walker, 1.0]], np.float32)
    results = [pipe.process(i * 0.1, FRAME) for i in range(10)]
    assert results[-1].people == 1
    assert det.ran[0] == CROPS  # the first look is everywhere
    assert all(r == [LEFT] for r in det.ran[1:])


def test_a_person_standing_still_where_nobody_is_tracked_is_found_by_the_periodic_full_look() -> (
    None
):
    det, gate = TileStub([]), StubGate()
    pipe = pipeline(det, gate)
    for i in range(5):
        pipe.process(i * 0.1, FRAME)
    det.people = [person(500)]  # arrived while the gate saw nothing (say, during a lighting change)
    people = [pipe.process(i * 0.1, FRAME).people for i in range(5, 5 + int(FULL_SCAN_S * 10) + 3)]
    assert people[-1] == 1


def test_a_tracked_person_who_stops_moving_stays_counted() -> None:
    shopper = person(500)
    det, gate = TileStub([shopper]), StubGate()
    pipe = pipeline(det, gate)
    gate.motion_boxes = np.array([[*shopper, 1.0]], np.float32)
    for i in range(5):
        pipe.process(i * 0.1, FRAME)
    gate.motion_boxes = np.zeros((0, 5), np.float32)  # stands still at the counter
    people = [pipe.process(i * 0.1, FRAME).people for i in range(5, 40)]
    assert people == [1] * len(people)
    assert RIGHT in det.ran[-1]


def test_someone_in_the_overlap_needs_only_one_tile() -> None:
    assert needed_crops(CROPS, np.array([person(320)])) == [LEFT]


def test_someone_cut_by_every_tile_edge_gets_every_tile_they_touch() -> None:
    wide = np.array([[250.0, 100.0, 400.0, 300.0]])  # wider than the overlap
    assert needed_crops(CROPS, wide) == CROPS


def test_nothing_to_look_at_runs_nothing() -> None:
    assert needed_crops(CROPS, np.zeros((0, 5))) == []
    assert needed_crops(CROPS, np.array([[700.0, 10.0, 800.0, 50.0]])) == []


coord = st.floats(-100, 800, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(coord, coord, coord, coord), max_size=6))
def test_every_box_is_whole_in_a_chosen_tile_or_gets_all_it_touches(
    raw: list[tuple[float, float, float, float]],
) -> None:
    b = np.array([(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)) for x1, y1, x2, y2 in raw])
    chosen = needed_crops(CROPS, b.reshape(-1, 4))
    # What lies off the 640x480 picture cannot be in any tile; the rest must be seen whole.
    for x1, y1, x2, y2 in np.clip(b.reshape(-1, 4), 0, [640, 480, 640, 480]):
        touched = [c for c in CROPS if x1 < c[2] and x2 > c[0] and y1 < c[3] and y2 > c[1]]
        whole = [c for c in chosen if c[0] <= x1 and x2 <= c[2] and c[1] <= y1 and y2 <= c[3]]
        assert whole or all(c in chosen for c in touched)
