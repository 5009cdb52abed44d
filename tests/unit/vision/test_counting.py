"""Line counting with the house convention: `in` ends on the cross(B-A, P-A) > 0 side."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.settings.cameras import LineSettings
from edge_agent.vision.counting import LineCounter, TrackPoint

DOWN = LineSettings(id="door", points=[(0.5, 0.2), (0.5, 0.8)], band=0.02, debounce_s=1.0)


def walk(
    counter: LineCounter,
    xs: Iterable[float],
    *,
    y: float = 0.5,
    tid: int = 1,
    dt: float = 0.1,
    t0: float = 0.0,
    confirmed: bool = True,
    height: float = 0.0,
    aspect: float = 1.0,
) -> list[str]:
    got: list[str] = []
    for i, x in enumerate(xs):
        tp = TrackPoint(tid, (x, y), confirmed, height)
        got += [c.direction for c in counter.update(t0 + i * dt, [tp], aspect)]
    return got


def test_right_to_left_across_a_downward_line_counts_in() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.6, 0.55, 0.5, 0.45, 0.4]) == ["in"]
    assert c.totals == {"door": {"in": 1, "out": 0}}


def test_left_to_right_counts_out() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.3, 0.4, 0.5, 0.6, 0.7]) == ["out"]


def test_standing_on_the_line_within_the_band_counts_nothing() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.6, 0.51, 0.49, 0.51, 0.49, 0.505, 0.6]) == []


def test_back_and_forth_jitter_across_the_band_counts_once() -> None:
    c = LineCounter([DOWN])
    # crosses in, wobbles back beyond the band for a moment, then goes on: one person, one `in`
    assert walk(c, [0.7, 0.55, 0.45, 0.55, 0.45, 0.4, 0.3]) == ["in"]


def test_coming_back_after_the_debounce_counts_out() -> None:
    c = LineCounter([DOWN])
    xs = [0.7, 0.45, 0.44] + [0.4] * 15 + [0.6, 0.65]
    assert walk(c, xs) == ["in", "out"]


def test_one_odd_box_beyond_the_line_is_not_a_crossing() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.7, 0.3, 0.7, 0.7]) == []


def test_stepping_over_the_line_and_out_of_view_still_counts() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.6, 0.4]) == []  # seen beyond the line once, then gone
    assert [x.direction for x in c.forget([1])] == ["in"]
    assert c.totals["door"] == {"in": 1, "out": 0}


def test_walking_round_the_end_of_the_line_counts_nothing() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.6, 0.4, 0.3], y=0.9) == []


def test_a_track_seen_on_both_sides_of_a_gap_still_counts() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.8, 0.2, 0.2]) == ["in"]


def test_crossing_before_confirmation_is_counted_once_the_track_is_confirmed() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.4], confirmed=False) == []
    assert walk(c, [0.35], confirmed=True, t0=0.2) == ["in"]


def test_a_track_that_dies_unconfirmed_is_never_counted() -> None:
    c = LineCounter([DOWN])
    walk(c, [0.7, 0.4], confirmed=False)
    c.forget([1])
    assert walk(c, [0.35], confirmed=True, t0=0.2) == []
    assert c.totals["door"] == {"in": 0, "out": 0}


def test_two_people_crossing_opposite_ways_count_one_each() -> None:
    c = LineCounter([DOWN])
    got = []
    for i, (xa, xb) in enumerate(zip([0.7, 0.55, 0.45, 0.3], [0.3, 0.45, 0.55, 0.7], strict=True)):
        got += c.update(i * 0.1, [TrackPoint(1, (xa, 0.4), True), TrackPoint(2, (xb, 0.6), True)])
    assert sorted((x.track_id, x.direction) for x in got) == [(1, "in"), (2, "out")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60))
def test_counts_never_differ_by_more_than_one_and_alternate(xs: list[float]) -> None:
    """Whatever path one person takes, in and out alternate, so the totals differ by at most one."""
    c = LineCounter([DOWN])
    got = walk(c, xs)
    assert all(a != b for a, b in pairwise(got))
    assert abs(c.totals["door"]["in"] - c.totals["door"]["out"]) <= 1


def test_person_lost_before_the_line_and_found_beyond_it_counts_once() -> None:
    c = LineCounter([DOWN])
    got = walk(c, [0.7, 0.65, 0.6], tid=1, height=0.3)  # the tracker loses them short of the line
    got += walk(c, [0.44, 0.4, 0.35, 0.3], tid=2, t0=0.8, height=0.3)  # found past it, new id
    assert got == ["in"]


def test_a_new_person_far_from_a_lost_one_takes_over_nothing() -> None:
    c = LineCounter([DOWN])
    got = walk(c, [0.7, 0.65, 0.6], y=0.25, tid=1, height=0.3)
    got += walk(c, [0.44, 0.4, 0.35, 0.3], y=0.78, tid=2, t0=0.8, height=0.3)
    assert got == []


def test_a_new_person_twice_the_size_of_a_lost_one_takes_over_nothing() -> None:
    # a close person stepping in where a far one was lost is someone else, not the far one found
    c = LineCounter([DOWN])
    got = walk(c, [0.7, 0.65, 0.6], tid=1, height=0.2)
    got += walk(c, [0.44, 0.4, 0.35, 0.3], tid=2, t0=0.8, height=0.4)
    assert got == []


def test_a_new_person_further_than_a_short_walk_away_takes_over_nothing() -> None:
    # 0.3 s after the loss, one box height away: further than anyone walks in that time
    c = LineCounter([DOWN])
    got = walk(c, [0.7, 0.65, 0.6], tid=1, height=0.3)
    got += walk(c, [0.27, 0.25, 0.23], tid=2, t0=0.5, height=0.3)
    assert got == []


def test_the_hand_over_reach_is_measured_across_the_real_picture() -> None:
    # 0.28 of the width in 0.3 s: within reach (one box height, 0.3) in a square picture, but
    # 0.37 frame heights in a 4:3 one, which nobody walks in that time
    def jump(aspect: float) -> list[str]:
        c = LineCounter([DOWN])
        got = walk(c, [0.7, 0.65, 0.6], tid=1, height=0.3, aspect=aspect)
        return got + walk(c, [0.32, 0.3, 0.28], tid=2, t0=0.5, height=0.3, aspect=aspect)

    assert jump(1.0) == ["in"]
    assert jump(4 / 3) == []


def test_ground_truth_mode_never_hands_a_line_state_over() -> None:
    c = LineCounter([DOWN], stitch=False)
    got = walk(c, [0.7, 0.65, 0.6], tid=1, height=0.3)
    got += walk(c, [0.44, 0.4, 0.3], tid=2, t0=0.8, height=0.3)
    assert got == []


def test_a_person_who_walks_in_next_to_the_line_and_crosses_it_counts() -> None:
    # first seen 2.5% right of the line: inside their height band (3%), but clearly on one side
    c = LineCounter([DOWN])
    assert walk(c, [0.525, 0.5, 0.46, 0.44, 0.42], height=0.3) == ["in"]


def test_foot_jitter_of_a_tall_person_on_the_line_counts_nothing() -> None:
    # a box 40% of the frame tall wobbles +-3% at its bottom edge: inside the height-scaled band
    c = LineCounter([DOWN])
    got: list[str] = []
    for i, x in enumerate([0.7, 0.6, 0.53, 0.47, 0.53, 0.47, 0.53, 0.47, 0.53] * 3):
        got += [c.direction for c in c.update(i * 0.1, [TrackPoint(1, (x, 0.5), True, 0.4)])]
    assert got == []


def test_a_person_who_stops_just_past_the_line_counts_once() -> None:
    # 3% past the line: inside a 40%-tall person's band (4%), past the line's own band (2%)
    c = LineCounter([DOWN])
    got = walk(c, [0.7, 0.6, 0.5] + [0.47] * 30, height=0.4)
    assert got == ["in"]
    assert c.totals["door"] == {"in": 1, "out": 0}


def test_a_person_who_pauses_just_past_the_line_and_turns_back_counts_nothing() -> None:
    c = LineCounter([DOWN])
    assert walk(c, [0.7, 0.6, 0.5] + [0.47] * 8 + [0.6, 0.7], height=0.4) == []  # 0.8 s < 1 s
