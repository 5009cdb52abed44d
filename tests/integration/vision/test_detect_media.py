"""Detectors on real footage: vtest.avi (PETS09 S2L1 with MOT15 ground truth) and Megamind.avi.

Needs `make models media` (the Makefile's `test` target runs both first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.vision.capture import Capture
from edge_agent.vision.detect import (
    DetectorSettings,
    FaceSettings,
    ModelMismatch,
    ModelMissing,
    build_face_detector,
    build_person_detector,
)
from edge_agent.vision.detect.boxes import crowd_crops, nms
from edge_agent.vision.detect.ssdlite import SsdLiteDetector
from edge_agent.vision.media import default_media_dir
from edge_agent.vision.models import MANIFEST, default_models_dir
from tests.support.media import GT_PATH, require

MODELS = default_models_dir()
VTEST = default_media_dir() / "vtest.avi"
MEGAMIND = default_media_dir() / "Megamind.avi"
GT = GT_PATH


@pytest.fixture(autouse=True)
def _media_present() -> None:
    require(MODELS / "cache" / "ssdlite_person.pb", VTEST, MEGAMIND, GT)


def frames_of(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    with Capture(str(path)) as cap:
        n = 0
        while len(out) < len(wanted) and (item := cap.read()) is not None:
            n += 1
            if n in wanted:
                out[n] = item[1]
    return out


def ground_truth(frame: int) -> np.ndarray:
    gt = np.loadtxt(GT, delimiter=",")
    boxes = gt[gt[:, 0] == frame][:, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    out: np.ndarray = boxes
    return out


def matched(gt: np.ndarray, det: np.ndarray, iou_min: float = 0.5) -> int:
    hits, used = 0, set[int]()
    for g in gt:
        xx1 = np.maximum(g[0], det[:, 0])
        yy1 = np.maximum(g[1], det[:, 1])
        xx2 = np.minimum(g[2], det[:, 2])
        yy2 = np.minimum(g[3], det[:, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        union = (
            (g[2] - g[0]) * (g[3] - g[1])
            + (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
            - inter
        )
        iou = inter / union
        iou[list(used)] = 0
        if len(iou) and iou.max() >= iou_min:
            used.add(int(iou.argmax()))
            hits += 1
    return hits


@pytest.fixture(scope="module")
def sample() -> dict[int, np.ndarray]:
    return frames_of(VTEST, {200, *range(40, 790, 50)})


def test_full_frame_finds_six_of_seven_people_on_frame_200(sample: dict[int, np.ndarray]) -> None:
    det = build_person_detector(DetectorSettings(tiles=(1, 1), score_threshold=0.5), MODELS)
    boxes = det.detect(sample[200])
    assert boxes.dtype == np.float32
    assert boxes.shape[1] == 5
    assert matched(ground_truth(200), boxes) >= 6


def test_default_tiling_finds_more_people_than_one_full_frame_pass(
    sample: dict[int, np.ndarray],
) -> None:
    full = build_person_detector(DetectorSettings(tiles=(1, 1), score_threshold=0.5), MODELS)
    tiled = build_person_detector(DetectorSettings(), MODELS)
    frames = [n for n in sample if n != 200]
    total = sum(len(ground_truth(n)) for n in frames)
    hits_full = sum(matched(ground_truth(n), full.detect(sample[n])) for n in frames)
    hits_tiled = sum(matched(ground_truth(n), tiled.detect(sample[n])) for n in frames)
    assert hits_tiled / total >= 0.65
    assert hits_tiled > hits_full * 1.15


def test_boxes_are_in_the_callers_pixels_even_with_a_region(sample: dict[int, np.ndarray]) -> None:
    det = build_person_detector(
        DetectorSettings(region={"x1": 0.5, "y1": 0.0, "x2": 1.0, "y2": 1.0}), MODELS
    )
    boxes = det.detect(sample[200])
    assert len(boxes) >= 3
    assert boxes[:, 0].min() >= 768 * 0.5 - 1
    assert matched(ground_truth(200)[ground_truth(200)[:, 0] > 400], boxes) >= 3


def test_told_where_people_are_one_tile_pass_finds_them_all(sample: dict[int, np.ndarray]) -> None:
    """Focused detection on a real frame: the people wholly inside the left tile, one pass."""
    det = build_person_detector(DetectorSettings(), MODELS)
    assert isinstance(det, SsdLiteDetector)
    frame = sample[200]
    left = det.crops(frame.shape[1], frame.shape[0])[0]
    full = det.detect(frame)
    wanted = full[(full[:, 2] <= left[2]) & (full[:, 4] >= 0.3)]
    assert len(wanted) >= 2
    before = det.passes
    focused = det.detect_where(frame, wanted)
    assert det.passes - before == 1
    assert matched(wanted, focused) == len(wanted)


def test_told_nothing_moves_no_pass_runs(sample: dict[int, np.ndarray]) -> None:
    det = build_person_detector(DetectorSettings(), MODELS)
    assert isinstance(det, SsdLiteDetector)
    assert len(det.detect_where(sample[200], np.zeros((0, 5), np.float32))) == 0
    assert det.passes == 0


def test_empty_scene_gives_no_people() -> None:
    det = build_person_detector(DetectorSettings(), MODELS)
    assert len(det.detect(np.full((480, 640, 3), 128, np.uint8))) == 0


@pytest.mark.parametrize("runtime", ["openvino", "opencv"])
@pytest.mark.parametrize("tiles", [[2, 1], [1, 1]])
def test_a_dark_lobby_has_nobody_in_it(runtime: str, tiles: list[int]) -> None:
    """Lights off or a covered lens: the network puts one box over its whole, near-black input at
    about the score that starts a track, so a camera would count a person all night."""
    det = build_person_detector(
        DetectorSettings(runtime=runtime, tiles=tiles, score_threshold=0.1),
        MODELS,  # type: ignore[arg-type]
    )
    rng = np.random.default_rng(7)
    for level in (0, 2, 5, 8):
        dark = np.clip(rng.normal(level, 2, (480, 640, 3)), 0, 255).astype(np.uint8)
        assert len(det.detect(dark)) == 0, f"someone found in the dark at level {level}"
    # ...while the same detector still finds the people of a dimly lit frame.
    (frame,) = frames_of(VTEST, {200}).values()
    dim = (frame.astype(np.float32) * 0.15).astype(np.uint8)
    assert len(det.detect(dim)) >= 3


@pytest.mark.parametrize("shape", [(0, 0, 3), (10, 10), (1, 5, 3), (10, 10, 4)])
def test_malformed_frame_is_a_value_error(shape: tuple[int, ...]) -> None:
    det = build_person_detector(DetectorSettings(), MODELS)
    with pytest.raises(ValueError, match="HxWx3"):
        det.detect(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("backend", ["yunet", "blazeface"])
def test_megamind_close_up_face_is_found(backend: str) -> None:
    det = build_face_detector(FaceSettings(backend=backend), MODELS)
    frames = frames_of(MEGAMIND, set(range(1, 270, 20)))
    found = [det.detect(f) for f in frames.values()]
    assert sum(len(b) >= 1 for b in found) >= 0.8 * len(found)
    h, w = next(iter(frames.values())).shape[:2]
    for b in found:
        assert np.all((b[:, 0] >= 0) & (b[:, 2] <= w) & (b[:, 1] >= 0) & (b[:, 3] <= h))


@pytest.mark.parametrize("backend", ["yunet", "blazeface"])
def test_no_face_in_a_blank_frame(backend: str) -> None:
    det = build_face_detector(FaceSettings(backend=backend), MODELS)
    assert len(det.detect(np.full((480, 640, 3), 200, np.uint8))) == 0


def copy_models(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    (tmp_path / MANIFEST).write_bytes((MODELS / MANIFEST).read_bytes())
    (tmp_path / "ssdlite").mkdir()
    for name in ("ssdlite/ssdlite_person.pbtxt", "cache/yunet_2023mar.onnx"):
        (tmp_path / name).write_bytes((MODELS / name).read_bytes())
    return tmp_path


def test_unfetched_person_model_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="edge-agent models fetch"):
        build_person_detector(DetectorSettings(), copy_models(tmp_path))


def test_swapped_face_model_is_refused(tmp_path: Path) -> None:
    models = copy_models(tmp_path)
    (models / "cache" / "blazeface_short.tflite").write_bytes(
        (models / "cache" / "yunet_2023mar.onnx").read_bytes()
    )
    with pytest.raises(ModelMismatch, match="edge-agent models fetch"):
        build_face_detector(FaceSettings(backend="blazeface"), models)


def test_far_faces_need_yunet_not_blazeface(sample: dict[int, np.ndarray]) -> None:
    """vtest faces are ~10 px: BlazeFace (close range) finds none, YuNet finds some."""
    frames = [sample[n] for n in sorted(sample)[:8]]
    blaze = build_face_detector(FaceSettings(backend="blazeface"), MODELS)
    yunet = build_face_detector(FaceSettings(), MODELS)
    assert sum(len(blaze.detect(f)) for f in frames) == 0
    assert sum(len(yunet.detect(f)) for f in frames) >= 1


def test_close_ups_of_people_standing_together_find_those_the_tiles_missed() -> None:
    """`crowd_passes`: a crop around each pair of people close together, seen at 2-3x the pixels.

    The pairs come from the ground truth here, as they come from the tracks in the pipeline.
    Every 10th frame of vtest: about 95 people touch another one's box; the tiles find 41.
    """
    det = build_person_detector(DetectorSettings(), MODELS)
    assert isinstance(det, SsdLiteDetector)
    hidden = tiles_found = with_close_ups = 0
    for n, frame in frames_of(VTEST, set(range(5, 795, 10))).items():
        gt = ground_truth(n)
        tiles = det.detect(frame)
        crops = crowd_crops(gt, frame.shape[1], frame.shape[0], limit=4)
        both = nms(np.concatenate([tiles, det.detect_crops(frame, crops)]), 0.45)
        together = [g for i, g in enumerate(gt) if _touches_another(g, np.delete(gt, i, axis=0))]
        hidden += len(together)
        tiles_found += matched(np.array(together).reshape(-1, 4), tiles[tiles[:, 4] >= 0.3])
        with_close_ups += matched(np.array(together).reshape(-1, 4), both[both[:, 4] >= 0.3])
    assert hidden >= 60
    assert with_close_ups >= tiles_found + 0.15 * hidden, (hidden, tiles_found, with_close_ups)


def test_close_ups_never_look_past_the_detector_region() -> None:
    # Frame 300: a close-up around three people at x 240-350 px; the region stops at x 300.
    n, frame = next(iter(frames_of(VTEST, {300}).items()))
    crops = crowd_crops(ground_truth(n), frame.shape[1], frame.shape[0], limit=4)
    edge = 0.39 * frame.shape[1]
    assert any(c[0] < edge - 50 and c[2] > edge + 50 for c in crops)
    whole = build_person_detector(DetectorSettings(), MODELS)
    assert isinstance(whole, SsdLiteDetector)
    found = whole.detect_crops(frame, crops)
    assert np.any(found[:, 0] > edge + 10)  # without the region, someone right of the edge
    half = build_person_detector(DetectorSettings(region={"x2": 0.39}), MODELS)
    assert isinstance(half, SsdLiteDetector)
    kept = half.detect_crops(frame, crops)
    assert len(kept[kept[:, 4] >= 0.3]) >= 1  # the one left of the edge is still found
    assert np.all(kept[:, 2] <= edge + 1)
    away = [(round(edge) + 10, c[1], c[2], c[3]) for c in crops if c[2] > edge + 12]
    before = half.passes
    assert len(half.detect_crops(frame, away)) == 0 and half.passes == before  # not run at all


def _touches_another(g: np.ndarray, others: np.ndarray) -> bool:
    xx1, yy1 = np.maximum(g[0], others[:, 0]), np.maximum(g[1], others[:, 1])
    xx2, yy2 = np.minimum(g[2], others[:, 2]), np.minimum(g[3], others[:, 3])
    return bool(np.any((xx2 > xx1) & (yy2 > yy1)))
