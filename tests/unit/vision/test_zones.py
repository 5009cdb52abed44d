"""Occupancy by foot point, and dwell visits that survive short excursions."""

from __future__ import annotations

from edge_agent.settings.cameras import ZoneSettings
from edge_agent.vision.counting import TrackPoint
from edge_agent.vision.zones import ZoneMonitor, percentile

COUNTER = ZoneSettings(
    id="counter", points=[(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)], grace_s=2.0
)


def at(tid: int, x: float, y: float) -> TrackPoint:
    return TrackPoint(tid, (x, y), True)


def test_occupancy_counts_people_whose_feet_are_inside() -> None:
    z = ZoneMonitor([COUNTER])
    occ, _ = z.update(0.0, [at(1, 0.3, 0.3), at(2, 0.5, 0.5), at(3, 0.5, 0.7)])
    assert occ == {"counter": 2}


def test_unconfirmed_tracks_are_not_counted() -> None:
    z = ZoneMonitor([COUNTER])
    occ, _ = z.update(0.0, [TrackPoint(1, (0.3, 0.3), False)])
    assert occ == {"counter": 0}


def test_stepping_out_briefly_is_one_visit_with_its_full_length() -> None:
    z = ZoneMonitor([COUNTER])
    visits = []
    for i in range(100):  # 10 s at 10 fps, out for 1 s in the middle
        ts = i * 0.1
        x = 0.7 if 40 <= i < 50 else 0.3
        visits += z.update(ts, [at(1, x, 0.3)])[1]
    for i in range(100, 130):
        visits += z.update(i * 0.1, [])[1]
    assert len(visits) == 1
    assert abs(visits[0].duration - 9.9) < 1e-9


def test_leaving_for_longer_than_the_grace_ends_the_visit() -> None:
    z = ZoneMonitor([COUNTER])
    visits = []
    for i in range(60):
        x = 0.3 if i < 20 or i >= 50 else 0.8
        visits += z.update(i * 0.1, [at(1, x, 0.3)])[1]
    assert len(visits) == 1
    assert abs(visits[0].duration - 1.9) < 1e-9
    assert z.open_visits() == {"counter": 1}


def test_a_track_removed_by_the_tracker_ends_its_visit() -> None:
    z = ZoneMonitor([COUNTER])
    z.update(1.0, [at(7, 0.3, 0.3)])
    z.update(4.0, [at(7, 0.3, 0.3)])
    (v,) = z.forget([7])
    assert (v.zone_id, v.track_id, v.duration) == ("counter", 7, 3.0)


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 90) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 90) == 9.0
