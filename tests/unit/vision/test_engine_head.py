"""The numpy SSD head behind the OpenVINO engine: decoding and OpenCV's NMS rules, fuzzed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.vision.detect.engines import CONFIDENCE, NMS_IOU, TOP_K, _detections, decode

VARIANCES = np.array([[0.1, 0.1, 0.2, 0.2]], np.float32)  # one anchor's; np.repeat for more


def priors_for(n: int, rng: np.random.Generator) -> np.ndarray:
    cx, cy = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    w, h = rng.uniform(0.05, 0.6, n), rng.uniform(0.05, 0.9, n)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def test_zero_offsets_give_the_anchor_itself() -> None:
    rng = np.random.default_rng(1)
    priors = priors_for(50, rng)
    variances = np.repeat(VARIANCES, 50, axis=0)
    out = decode(np.zeros((50, 4)), priors, variances)
    assert np.allclose(out, priors, atol=1e-6)


def test_offsets_are_in_tensorflow_order_dy_dx_dh_dw() -> None:
    prior = np.array([[0.4, 0.4, 0.6, 0.8]], np.float32)  # centre (0.5, 0.6), 0.2 wide, 0.4 tall
    var = VARIANCES
    # dx = 1 moves the centre right by 0.1 x width; dh = 1 scales the height by e^0.2.
    box = decode(np.array([[0.0, 1.0, 1.0, 0.0]]), prior, var)[0]
    assert np.isclose((box[0] + box[2]) / 2, 0.5 + 0.1 * 0.2)
    assert np.isclose((box[1] + box[3]) / 2, 0.6)
    assert np.isclose(box[3] - box[1], 0.4 * np.exp(0.2))
    assert np.isclose(box[2] - box[0], 0.2)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    min_score=st.floats(0.0, 0.9),
)
def test_rows_follow_opencvs_detection_output(seed: int, n: int, min_score: float) -> None:
    rng = np.random.default_rng(seed)
    priors = priors_for(n, rng)
    variances = np.repeat(VARIANCES, n, axis=0)
    loc = rng.normal(0, 1, (n, 4)).astype(np.float32)
    scores = rng.uniform(0, 1, n) ** 3  # mostly weak, as real anchors are
    rows = _detections(3, loc, scores, priors, variances, min_score)
    assert rows.dtype == np.float32 and rows.shape[1] == 7
    assert len(rows) <= TOP_K
    assert np.all(rows[:, 0] == 3) and np.all(rows[:, 1] == 1)
    assert np.all(np.diff(rows[:, 2]) <= 0)  # best first
    assert np.all(rows[:, 2] >= min_score) and np.all(rows[:, 2] > CONFIDENCE - 1e-7)
    kept = rows[:, 3:].astype(np.float64)
    for i in range(len(kept)):
        for j in range(i):
            assert iou(kept[i], kept[j]) <= NMS_IOU + 1e-6
    # A candidate left out was suppressed by a stronger row it overlaps.
    boxes = decode(loc.astype(np.float64), priors, variances)
    order = np.argsort(-scores, kind="stable")
    candidates = [k for k in order if scores[k] > CONFIDENCE][:TOP_K]
    for k in candidates:
        if scores[k] < min_score or any(np.allclose(boxes[k], r, atol=1e-6) for r in kept):
            continue
        assert any(iou(boxes[k], r) > NMS_IOU for r in kept[rows[:, 2] >= scores[k] - 1e-7])
    # Leaving the weak rows out changes none of the strong ones.
    everything = _detections(3, loc, scores, priors, variances, 0.0)
    assert np.array_equal(everything[everything[:, 2] >= min_score], rows)
