"""The torso-colour cue: two people whose boxes overlap are told apart by their clothes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.settings.cameras import TrackerSettings
from edge_agent.vision.track import Tracker
from edge_agent.vision.track.appearance import blend, hist_distance, torso_hist

RED, BLUE = (0, 0, 200), (200, 60, 0)  # BGR shirts


def scene(people: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """A grey floor; per (centre x, shirt colour) a dark 30x60 px person, feet at y=300."""
    frame = np.full((360, 480, 3), 150, np.uint8)
    for cx, shirt in people:
        x = int(cx)
        frame[240:300, x - 15 : x + 15] = (60, 60, 60)
        frame[252:273, x - 6 : x + 6] = shirt
    return frame


def boxes(*xs: float) -> np.ndarray:
    return np.array([[x - 15, 240, x + 15, 300, 0.9] for x in xs], dtype=np.float32)


def id_at(t: Tracker, cx: float) -> int:
    return next(
        tr.id for tr in t.tracks if tr.matched and abs((tr.box[0] + tr.box[2]) / 2 - cx) < 5
    )


def run_swap(weight: float) -> tuple[dict[str, int], dict[str, int]]:
    """Red and blue stand side by side, go unseen for 0.3 s and step close, red past blue.

    Each new box overlaps the wrong person's old box most: geometry alone trades their ids.
    """
    t = Tracker(TrackerSettings(appearance_weight=weight))
    for i in range(8):
        t.update(i * 0.1, boxes(200, 240), scene([(200, RED), (240, BLUE)]))
    before = {"red": id_at(t, 200), "blue": id_at(t, 240)}
    for i in range(8, 11):
        t.update(i * 0.1, boxes(), scene([]))
    t.update(1.1, boxes(214, 226), scene([(214, BLUE), (226, RED)]))
    return before, {"red": id_at(t, 226), "blue": id_at(t, 214)}


def test_people_who_swap_places_keep_their_ids_by_clothing_colour() -> None:
    before, after = run_swap(weight=1.0)
    assert after == before


def test_without_the_colour_cue_the_same_swap_trades_their_ids() -> None:
    # The reason the cue exists: box geometry alone follows the places, not the people.
    before, after = run_swap(weight=0.0)
    assert after == {"red": before["blue"], "blue": before["red"]}


def test_the_tracker_keeps_no_frame_after_an_update() -> None:
    t = Tracker(TrackerSettings(appearance_weight=1.0))
    t.update(0.0, boxes(200), scene([(200, RED)]))
    assert all(not hasattr(v, "shape") or v.size <= 32 for v in vars(t).values())
    assert t.tracks[0].hist is not None and t.tracks[0].hist.shape == (32,)


def test_same_shirt_is_near_and_different_shirts_are_far() -> None:
    red = torso_hist(scene([(200, RED)]), boxes(200)[0, :4].astype(np.float64))
    red2 = torso_hist(scene([(300, RED)]), boxes(300)[0, :4].astype(np.float64))
    blue = torso_hist(scene([(200, BLUE)]), boxes(200)[0, :4].astype(np.float64))
    assert red is not None and red2 is not None and blue is not None
    assert hist_distance(red, red2) < 0.05
    assert hist_distance(red, blue) > 0.7  # the dark body beside the shirt is shared


def test_one_odd_crop_moves_a_track_colour_only_partway() -> None:
    red = np.zeros(32)
    red[0] = 1.0
    blue = np.zeros(32)
    blue[20] = 1.0
    mixed = blend(red, blue, 0.3)
    assert abs(mixed.sum() - 1.0) < 1e-9
    assert hist_distance(mixed, red) < hist_distance(mixed, blue)


def test_a_box_too_small_or_outside_the_frame_has_no_colour() -> None:
    frame = scene([(200, RED)])
    assert torso_hist(frame, np.array([10.0, 10.0, 12.0, 12.0])) is None
    assert torso_hist(frame, np.array([900.0, 900.0, 990.0, 990.0])) is None


coord = st.floats(-1e4, 1e4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.tuples(coord, coord, coord, coord))
def test_any_finite_box_gives_a_histogram_or_none(b: tuple[float, float, float, float]) -> None:
    h = torso_hist(scene([(200, RED)]), np.array(b))
    assert h is None or (h.shape == (32,) and abs(float(h.sum()) - 1.0) < 1e-6)
