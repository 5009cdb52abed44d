"""Detector parts that need no model: NMS, tiles, BlazeFace decoding, motion gate, settings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from edge_agent.vision.detect import DetectorSettings, Mog2MotionGate, MotionSettings
from edge_agent.vision.detect.blazeface import anchors, decode
from edge_agent.vision.detect.boxes import join_cut_halves, nms, tile_grid


def box(x1: float, y1: float, x2: float, y2: float, s: float) -> list[float]:
    return [x1, y1, x2, y2, s]


def test_nms_keeps_two_people_side_by_side_and_drops_the_duplicate() -> None:
    b = np.array(
        [box(0, 0, 10, 20, 0.9), box(1, 0, 11, 20, 0.8), box(30, 0, 40, 20, 0.7)], np.float32
    )
    out = nms(b, 0.45)
    assert out[:, 4].tolist() == pytest.approx([0.9, 0.7])


def test_nms_drops_a_tile_cut_half_inside_the_whole_person() -> None:
    whole = box(0, 0, 20, 60, 0.6)
    cut_half = box(0, 0, 20, 25, 0.9)  # IoU ~0.42, but fully inside
    assert len(nms(np.array([whole, cut_half], np.float32), 0.45)) == 1


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32, st.tuples(st.integers(0, 40), st.just(5)), elements=st.floats(0, 500, width=32)
    )
)
def test_nms_output_is_a_subset_with_no_heavy_overlaps(raw: np.ndarray) -> None:
    raw[:, 2:4] += raw[:, 0:2]  # x2 >= x1, y2 >= y1
    out = nms(raw, 0.5)
    assert out.shape[1] == 5
    assert out.dtype == np.float32
    assert len(out) <= len(raw)
    assert np.all(np.diff(out[:, 4]) <= 0)


TILES = np.array(tile_grid(640, 480, 2, 1, 0.25), np.float32)  # x 0-366 and 274-640


def rows(boxes: object) -> list[list[float]]:
    return sorted(np.round(np.asarray(boxes, np.float64), 3).tolist())


def test_a_close_person_cut_by_the_tile_seam_is_one_box_not_two() -> None:
    # someone 256 px wide in the middle: each tile sees only its own half, cut at its inner edge
    left_half, right_half = box(192, 50, 366, 470, 0.8), box(274, 55, 448, 468, 0.6)
    apart = box(10, 100, 60, 200, 0.9)
    raw = np.array([left_half, right_half, apart], np.float32)
    assert len(nms(raw, 0.45)) == 3  # NMS alone keeps both halves: one person counted twice
    out = join_cut_halves(raw, TILES[[0, 1, 0]])
    assert rows(out) == rows([apart, box(192, 50, 448, 470, 0.8)])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # two people side by side, each cut by the other tile's edge: no overlap across the seam
        (box(300, 50, 366, 470, 0.8), box(274, 50, 296, 470, 0.7)),
        # a child and an adult at the seam: same columns, rows far apart
        (box(250, 300, 366, 470, 0.8), box(274, 40, 400, 470, 0.7)),
        # a box that stops short of the tile edge was not cut there
        (box(250, 50, 330, 470, 0.8), box(274, 50, 400, 470, 0.7)),
    ],
)
def test_boxes_that_are_not_two_halves_of_one_person_stay_apart(
    a: list[float], b: list[float]
) -> None:
    out = join_cut_halves(np.array([a, b], np.float32), TILES[[0, 1]])
    assert rows(out) == rows([a, b])


def test_a_person_cut_by_the_seam_between_tile_rows_is_one_box() -> None:
    grid = np.array(tile_grid(640, 480, 1, 2, 0.25), np.float32)  # y 0-275 and 205-480
    top, bottom = box(300, 100, 360, 275, 0.7), box(302, 205, 358, 400, 0.9)
    out = join_cut_halves(np.array([top, bottom], np.float32), grid)
    assert rows(out) == rows([box(300, 100, 360, 400, 0.9)])


def test_a_box_at_the_picture_edge_is_not_a_cut_half() -> None:
    # both boxes end at the edge of the searched area, which is no seam
    a, b = box(0, 50, 100, 470, 0.8), box(560, 50, 640, 470, 0.7)
    out = join_cut_halves(np.array([a, b], np.float32), TILES[[0, 1]])
    assert rows(out) == rows([a, b])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32, st.tuples(st.integers(0, 30), st.just(5)), elements=st.floats(0, 320, width=32)
    ),
    st.lists(st.integers(0, 1), min_size=30, max_size=30),
)
def test_joining_halves_never_adds_boxes_or_leaves_the_tiles(
    raw: np.ndarray, which: list[int]
) -> None:
    raw[:, 2:4] += raw[:, 0:2]
    raw[:, [0, 2]] = np.clip(raw[:, [0, 2]], 0, 640)
    raw[:, [1, 3]] = np.clip(raw[:, [1, 3]], 0, 480)
    out = join_cut_halves(raw, TILES[which[: len(raw)]])
    assert out.dtype == np.float32 and out.shape[1] == 5
    assert len(out) <= len(raw)
    if len(out):
        assert out[:, 0].min() >= 0 and out[:, 2].max() <= 640
        assert set(out[:, 4].tolist()) <= set(raw[:, 4].tolist())


@settings(max_examples=60, deadline=None)
@given(
    st.integers(32, 2000),
    st.integers(32, 2000),
    st.integers(1, 6),
    st.integers(1, 6),
    st.floats(0, 0.6),
)
def test_tiles_cover_every_pixel(w: int, h: int, cols: int, rows: int, overlap: float) -> None:
    tiles = tile_grid(w, h, cols, rows, overlap)
    assert len(tiles) == cols * rows
    covered = np.zeros((h, w), bool)
    for x1, y1, x2, y2 in tiles:
        assert 0 <= x1 < x2 <= w
        assert 0 <= y1 < y2 <= h
        covered[y1:y2, x1:x2] = True
    assert covered.all()


def test_blazeface_has_one_anchor_per_model_output() -> None:
    a = anchors()
    assert a.shape == (896, 2)
    assert a[0].tolist() == pytest.approx([1 / 32, 1 / 32])
    assert a[-1].tolist() == pytest.approx([15 / 16, 15 / 16])


def test_blazeface_decode_places_the_box_on_its_anchor() -> None:
    reg = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -10, np.float32)
    reg[0, 600, 2:4] = 32  # a 32 px face (1/4 of the input)
    logits[0, 600] = 5
    out = decode(reg, logits, anchors(), 0.5)
    cx, cy = anchors()[600]
    assert out.shape == (1, 5)
    assert out[0, :4].tolist() == pytest.approx([cx - 0.125, cy - 0.125, cx + 0.125, cy + 0.125])


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float32,
        (1, 896, 16),
        elements=st.floats(allow_nan=False, allow_infinity=False, width=32),
    ),
    arrays(
        np.float32, (1, 896, 1), elements=st.floats(allow_nan=False, allow_infinity=False, width=32)
    ),
)
def test_blazeface_decode_of_any_output_gives_well_formed_scores(
    reg: np.ndarray, logits: np.ndarray
) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        out = decode(reg, logits, anchors(), 0.5)
    assert out.shape[1] == 5
    assert np.all((out[:, 4] >= 0.5) & (out[:, 4] <= 1))


def scene(t: int) -> np.ndarray:
    frame = np.full((240, 320, 3), 90, np.uint8)
    cv2.rectangle(frame, (0, 200), (320, 240), (60, 120, 60), -1)
    if t >= 0:
        x = 20 + 6 * t
        cv2.rectangle(frame, (x, 80), (x + 30, 190), (20, 20, 200), -1)
    return frame


def test_motion_gate_skips_a_still_scene_and_wakes_for_a_walker() -> None:
    gate = Mog2MotionGate(MotionSettings(warmup_frames=5, hold_frames=2))
    still = [gate.update(scene(-1)) for _ in range(30)]
    assert all(still[:5])
    assert not any(still[10:])
    walking = [gate.update(scene(t)) for t in range(10)]
    assert all(walking[1:])
    x1, y1, x2, y2, _ = gate.motion_boxes[
        np.argmax(gate.motion_boxes[:, 2] - gate.motion_boxes[:, 0])
    ]
    assert x1 <= 20 + 6 * 9 + 30
    assert x2 >= 20 + 6 * 9
    assert y1 < 190
    assert y2 > 80
    after = [gate.update(scene(9)) for _ in range(40)]
    assert not after[-1]  # a person who stops becomes background and the detector rests


def test_motion_gate_ignores_sensor_noise() -> None:
    rng = np.random.default_rng(1)
    gate = Mog2MotionGate(MotionSettings(warmup_frames=5, hold_frames=0))
    base = scene(-1).astype(np.int16)
    results = [
        gate.update(np.clip(base + rng.integers(-3, 4, base.shape), 0, 255).astype(np.uint8))
        for _ in range(60)
    ]
    assert sum(results[20:]) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"tiles": (0, 1)},
        {"tiles": (7, 1)},
        {"score_threshold": 1.5},
        {"input_size": 512},
        {"region": {"x1": 0.8, "x2": 0.2}},
    ],
)
def test_invalid_detector_settings_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DetectorSettings.model_validate(bad)
