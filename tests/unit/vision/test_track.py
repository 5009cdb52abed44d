"""Tracker behaviour on synthetic trajectories whose right answers are known exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge_agent.settings.cameras import TrackerSettings
from edge_agent.vision.track import Tracker


def box(cx: float, bottom: float, w: float = 20, h: float = 50, score: float = 0.9) -> list[float]:
    return [cx - w / 2, bottom - h, cx + w / 2, bottom, score]


def dets(*boxes: list[float]) -> np.ndarray:
    return np.array(boxes, dtype=np.float32).reshape(-1, 5)


def confirmed_ids(t: Tracker) -> dict[int, float]:
    """Confirmed, currently matched track id -> centre x."""
    return {
        tr.id: float(tr.box[0] + tr.box[2]) / 2 for tr in t.tracks if tr.confirmed and tr.matched
    }


def test_a_walking_person_keeps_one_id() -> None:
    t = Tracker()
    ids = set()
    for i in range(30):
        t.update(i * 0.1, dets(box(100 + 8 * i, 300)))
        ids |= set(confirmed_ids(t))
    assert len(ids) == 1


def test_a_single_false_detection_never_gets_an_id() -> None:
    t = Tracker()
    t.update(0.0, dets(box(100, 300)))
    for i in range(1, 16):  # past tentative_age_s
        t.update(i * 0.1, dets())
        assert not any(tr.confirmed for tr in t.tracks)
    assert t.tracks == []


def test_person_hidden_for_a_second_comes_back_with_the_same_id() -> None:
    t = Tracker(TrackerSettings(max_age_s=2.0))
    for i in range(10):
        t.update(i * 0.1, dets(box(100 + 6 * i, 300)))
    (before,) = confirmed_ids(t)
    for i in range(10, 20):  # behind a pillar
        t.update(i * 0.1, dets())
    for i in range(20, 25):
        t.update(i * 0.1, dets(box(100 + 6 * i, 300)))
    assert set(confirmed_ids(t)) == {before}


def test_person_gone_longer_than_max_age_gets_a_new_id() -> None:
    t = Tracker(TrackerSettings(max_age_s=0.5))
    for i in range(10):
        t.update(i * 0.1, dets(box(100, 300)))
    (before,) = confirmed_ids(t)
    for i in range(10, 30):
        t.update(i * 0.1, dets())
    for i in range(30, 35):
        t.update(i * 0.1, dets(box(100, 300)))
    (after,) = confirmed_ids(t)
    assert after != before


def test_two_people_passing_each_other_keep_their_own_ids() -> None:
    t = Tracker()
    first: dict[int, float] = {}
    for i in range(40):
        a = box(100 + 10 * i, 300)  # walks right
        b = box(490 - 10 * i, 306)  # walks left, a little nearer the camera
        t.update(i * 0.1, dets(a, b))
        if i == 8:
            first = confirmed_ids(t)
    last = confirmed_ids(t)
    assert len(first) == 2
    assert set(last) == set(first)
    walker_right = min(first, key=first.__getitem__)
    assert last[walker_right] > last[next(k for k in last if k != walker_right)]


def test_real_timestamps_bridge_dropped_frames_of_a_fast_walker() -> None:
    """A 0.4 s hole at 6 box-heights per second: only a model in seconds predicts where to look."""
    t = Tracker()
    times = [0.0, 0.1, 0.2, 0.3, 0.4, 0.8, 0.9, 1.0]
    for ts in times:
        t.update(ts, dets(box(100 + 300 * ts, 300)))
    assert len({tr.id for tr in t.tracks}) == 1
    assert t.tracks[0].confirmed


def test_low_score_detections_keep_a_visible_person_tracked() -> None:
    t = Tracker(TrackerSettings(max_age_s=0.3))
    for i in range(5):
        t.update(i * 0.1, dets(box(100 + 5 * i, 300)))
    (before,) = confirmed_ids(t)
    for i in range(5, 15):  # half hidden: the detector is unsure
        t.update(i * 0.1, dets(box(100 + 5 * i, 300, score=0.3)))
    assert set(confirmed_ids(t)) == {before}


def test_low_score_detections_alone_never_start_a_track() -> None:
    t = Tracker()
    for i in range(10):
        t.update(i * 0.1, dets(box(100, 300, score=0.25)))
    assert t.tracks == []


finite = st.floats(-50, 800, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        arrays(np.float32, st.tuples(st.integers(0, 6), st.just(5)), elements=finite), max_size=12
    )
)
def test_arbitrary_detections_never_break_the_tracker(frames: list[np.ndarray]) -> None:
    t = Tracker()
    for i, d in enumerate(frames):
        d[:, 4] = np.abs(d[:, 4]) / 800
        tracks = t.update(i * 0.1, d)
        ids = [tr.id for tr in tracks]
        assert len(ids) == len(set(ids))
        assert all(tr.hits >= t.cfg.min_hits for tr in tracks if tr.confirmed)


def test_nan_boxes_are_dropped_not_tracked() -> None:
    t = Tracker()
    t.update(0.0, np.array([[np.nan, 0, 10, 10, 0.9], [0, 0, -5, 10, 0.9]], dtype=np.float32))
    assert t.tracks == []
