"""tools/vision_eval.py's identity-switch figure, on hand-made frames with known answers."""

from __future__ import annotations

import numpy as np

from edge_agent.vision.pipeline import FrameResult
from tools.vision_eval import GT_SIZE, Truth, id_switches

W, H = GT_SIZE


def truth_of(frames: list[list[tuple[int, tuple[float, float, float, float]]]]) -> Truth:
    """Per frame: (person id, xyxy in ground-truth pixels)."""
    boxes = {k: np.asarray([[*b, 1.0] for _, b in f], np.float32) for k, f in enumerate(frames)}
    feet = {k: [(i, ((b[0] + b[2]) / 2 / W, b[3] / H)) for i, b in f] for k, f in enumerate(frames)}
    return Truth(boxes, feet, len(frames))


def result(k: int, tracks: list[tuple[int, tuple[float, float, float, float]]]) -> FrameResult:
    norm = [(i, b[0] / W, b[1] / H, b[2] / W, b[3] / H) for i, b in tracks]
    return FrameResult(frame=k, ts=k / 10, people=len(tracks), zones={}, tracks=norm)


A = (100.0, 100.0, 140.0, 200.0)
B = (400.0, 100.0, 440.0, 200.0)


def test_a_person_handed_to_a_new_track_is_one_switch() -> None:
    truth = truth_of([[(7, A)]] * 3)
    frames = [result(0, [(1, A)]), result(1, [(1, A)]), result(2, [(2, A)])]
    assert id_switches(frames, truth) == {"id_switches": 1, "track_ids": 2}


def test_two_people_who_trade_ids_are_two_switches() -> None:
    truth = truth_of([[(7, A), (8, B)]] * 2)
    frames = [result(0, [(1, A), (2, B)]), result(1, [(2, A), (1, B)])]
    assert id_switches(frames, truth)["id_switches"] == 2


def test_a_missed_frame_between_sightings_of_the_same_track_is_no_switch() -> None:
    truth = truth_of([[(7, A)]] * 3)
    frames = [result(0, [(1, A)]), result(1, []), result(2, [(1, A)])]
    assert id_switches(frames, truth) == {"id_switches": 0, "track_ids": 1}
