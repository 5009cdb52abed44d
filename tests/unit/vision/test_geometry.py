"""The line-side convention and polygon tests that every count depends on."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from edge_agent.vision.geometry import (
    cross,
    crossing_param,
    foot_point,
    point_in_polygon,
    signed_distance,
)

DOWN = ((0.5, 0.0), (0.5, 1.0))  # a line drawn top to bottom
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def test_left_of_a_downward_line_is_the_in_side() -> None:
    a, b = DOWN
    assert cross(a, b, (0.4, 0.5)) > 0
    assert cross(a, b, (0.6, 0.5)) < 0


def test_signed_distance_is_in_normalised_units() -> None:
    a, b = DOWN
    assert abs(signed_distance(a, b, (0.4, 0.2)) - 0.1) < 1e-12


def test_path_through_the_middle_meets_the_segment_halfway() -> None:
    a, b = DOWN
    assert crossing_param(a, b, (0.6, 0.5), (0.4, 0.5)) == 0.5


def test_path_beside_the_segment_meets_its_extension() -> None:
    a, b = ((0.5, 0.2), (0.5, 0.4))
    t = crossing_param(a, b, (0.6, 0.9), (0.4, 0.9))
    assert t is not None
    assert t > 1


def test_path_parallel_to_the_line_never_meets_it() -> None:
    a, b = DOWN
    assert crossing_param(a, b, (0.6, 0.1), (0.6, 0.9)) is None


def test_foot_point_is_bottom_centre_normalised() -> None:
    assert foot_point((100, 50, 140, 250), 400, 500) == (0.3, 0.5)


def test_point_inside_a_concave_polygon() -> None:
    ell = [(0.0, 0.0), (0.6, 0.0), (0.6, 0.3), (0.3, 0.3), (0.3, 0.6), (0.0, 0.6)]
    assert point_in_polygon((0.1, 0.5), ell)
    assert not point_in_polygon((0.5, 0.5), ell)


@given(unit, unit)
def test_point_in_square_matches_its_bounds(x: float, y: float) -> None:
    square = [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)]
    inside = point_in_polygon((x, y), square)
    if 0.2 < x < 0.8 and 0.2 < y < 0.8:
        assert inside
    if x < 0.2 or x > 0.8 or y < 0.2 or y > 0.8:
        assert not inside


@given(unit, unit, unit, unit)
@example(0.0, 0.0, 0.0, 1e-9)  # once "parallel" one way round and not the other
@example(0.0, 0.0, 0.0, 2.2250738585e-313)  # a step so short the meeting point overflowed
def test_reversing_the_line_flips_the_side(px: float, py: float, qx: float, qy: float) -> None:
    a, b = (0.3, 0.1), (0.7, 0.9)
    assert abs(cross(a, b, (px, py)) + cross(b, a, (px, py))) < 1e-12
    t = crossing_param(a, b, (px, py), (qx, qy))
    if t is not None:
        back = crossing_param(b, a, (px, py), (qx, qy))
        assert back is not None
        assert abs(t + back - 1.0) < 1e-6 * max(1.0, abs(t))  # near-parallel paths: huge t
