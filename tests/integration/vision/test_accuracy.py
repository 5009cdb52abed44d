"""Counting accuracy on vtest (PETS09 S2.L1) against the MOT15 ground truth.

Three layers, each with its own threshold, so a regression says where it is:
1. the line rule itself, fed the ground-truth foot points, must reproduce the reference counts;
2. the tracker fed perfect (and deliberately gappy) boxes must keep every line's counts;
3. the real detector on the real video (slow): one replay scored on 29 lines the settings were tuned
   on and 24 random held-out lines (tools/vision_eval.py), the figures we reach minus a margin;
4. the same for a closer camera (slow): a window of vtest scaled up 2.4x, so people stand 40-60 %
   of the picture tall, as over a branch door (tools/zoomed_view.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_agent.cli.vision_cmd import load_camera_file
from edge_agent.settings.cameras import CameraSettings, LineSettings
from edge_agent.vision.counting import LineCounter, TrackPoint
from edge_agent.vision.pipeline import Pipeline
from tests.integration.vision.gt_support import GTDetector, gt_tracks, vtest_video
from tests.support.media import GT_PATH, MODELS, require
from tools.vision_eval import GT_SIZE, evaluate, load_truth
from tools.zoomed_view import Window, write_video

# Lines of our own besides the reference one (x=0.45, y 0.24..0.56), each with >= 5 GT crossings per way.
LINES: list[dict[str, object]] = [
    {"id": "ref", "points": [[0.45, 0.24], [0.45, 0.56]]},
    {"id": "middle", "points": [[0.10, 0.50], [0.90, 0.50]]},
    {"id": "east", "points": [[0.70, 0.20], [0.70, 0.90]]},
    {"id": "diagonal", "points": [[0.20, 0.30], [0.60, 0.80]]},
    {"id": "west", "points": [[0.25, 0.10], [0.25, 0.90]]},
]
FRAMES = 795


def gt_counts(lines: list[dict[str, object]]) -> dict[str, dict[str, int]]:
    counter = LineCounter([LineSettings.model_validate(x) for x in lines], stitch=False)
    for i, people in sorted(gt_tracks().items()):
        counter.update(i / 10, [TrackPoint(pid, foot, True) for pid, foot in people])
    return counter.totals


def accuracies(got: dict[str, dict[str, int]], want: dict[str, dict[str, int]]) -> dict[str, float]:
    """Per line and direction: 1 - |error| / truth."""
    return {
        f"{k}.{d}": 1 - abs(got[k][d] - want[k][d]) / want[k][d]
        for k in want
        for d in ("in", "out")
    }


def run_gt_pipeline(drop_every: int = 0) -> tuple[dict[str, dict[str, int]], float]:
    # The perfect detector hands out frame n on call n, so it must run on every frame.
    cam = CameraSettings.model_validate(
        {"id": "vtest", "source": "-", "lines": LINES, "detect_fps": None}
    )
    pipe = Pipeline(cam, GTDetector(drop_every=drop_every))
    frame = np.zeros((480, 640, 3), np.uint8)
    truth = gt_tracks()
    errors = [
        abs(pipe.process(i / 10, frame).people - len(truth.get(i, []))) for i in range(FRAMES)
    ]
    return pipe.lines.totals, float(np.mean(errors))


def test_reference_line_has_15_in_and_11_out_in_the_ground_truth() -> None:
    # drawn top to bottom, so `in` is right-to-left: 15 right-to-left, 11 left-to-right
    assert gt_counts(LINES[:1]) == {"ref": {"in": 15, "out": 11}}


def test_our_lines_have_enough_crossings_to_measure() -> None:
    assert all(min(v.values()) >= 5 for v in gt_counts(LINES).values())


def test_tracker_with_perfect_boxes_counts_every_line_within_one() -> None:
    # Not exact since the line counter hands a lost track's side to a new track nearby (it wins
    # 2-3 points on real detections): with perfect boxes that misfires once in 148 crossings.
    got, mae = run_gt_pipeline()
    want = gt_counts(LINES)
    errors = [abs(got[k][d] - want[k][d]) for k in want for d in ("in", "out")]
    assert sum(errors) <= 1
    assert mae < 0.3  # only the confirmation delay and the hold after leaving


def test_tracker_bridges_a_detector_that_misses_everyone_every_third_frame() -> None:
    got, mae = run_gt_pipeline(drop_every=3)
    assert min(accuracies(got, gt_counts(LINES)).values()) >= 0.9
    assert mae < 0.5


def with_detector(cam: CameraSettings, **knobs: Any) -> CameraSettings:
    return cam.model_copy(update={"detector": {**cam.detector, **knobs}})


@pytest.fixture(scope="module")
def vtest_eval() -> dict[str, Any]:
    """One real replay of vtest with 53 lines (29 tuned, 24 held out) via tools/vision_eval.py.

    With close-ups on every detector run (`crowd_load: null`), as a PC with one or two cameras
    runs them, so the figures do not depend on how busy the test machine is.
    """
    video = vtest_video()
    models = MODELS
    require(models / "cache" / "ssdlite_person.pb")
    cam = with_detector(load_camera_file(Path("config/cameras/vtest.yaml"), None), crowd_load=None)
    result = evaluate(cam, video=video, models=models, truth=load_truth(GT_PATH))
    print("\n" + json.dumps({k: v for k, v in result.items() if k not in ("tune", "held-out")}))
    for name in ("tune", "held-out"):
        print(name, {k: v for k, v in result[name].items() if k != "per_line"})
    return result


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first one replays a whole video in its fixture
def test_real_detector_counts_the_lines_it_was_tuned_on(vtest_eval: dict[str, Any]) -> None:
    tune = vtest_eval["tune"]
    assert vtest_eval["frames"] == FRAMES
    assert vtest_eval["close_ups"] >= vtest_eval["detector_runs"]  # the report counts them
    assert tune["mean"] >= ACC_MEAN
    assert tune["crossings_right"] >= CROSSINGS_RIGHT
    assert tune["per_line"]["ref.in"] >= ACC_REF and tune["per_line"]["ref.out"] >= ACC_REF


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first one replays a whole video in its fixture
def test_real_detector_counts_lines_it_was_never_tuned_on(vtest_eval: dict[str, Any]) -> None:
    held = vtest_eval["held-out"]
    assert held["lines"] >= 20
    assert held["mean"] >= ACC_MEAN
    assert held["crossings_right"] >= CROSSINGS_RIGHT
    assert held["min"] >= ACC_MIN_HELD_OUT


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first one replays a whole video in its fixture
def test_real_detector_reports_occupancy_within_a_person(vtest_eval: dict[str, Any]) -> None:
    assert vtest_eval["occupancy_mae"] <= MAE_MAX
    assert max(vtest_eval["zone_mae"].values()) <= MAE_MAX  # and per zone (halves, centre, corner)


CLOSER = (0.45, 0.35, 0.85, 0.75)  # the part of vtest that becomes the closer camera's picture


@pytest.fixture(scope="module")
def closer_eval(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One replay of the zoomed window, 16 tuned and 16 held-out lines where people show whole.

    Tile passes only (`crowd_passes: 0`): what a PC whose CPU the cameras use up gets.
    """
    require(MODELS / "cache" / "ssdlite_person.pb")
    win = Window.of(CLOSER, GT_SIZE)
    video = write_video(vtest_video(), tmp_path_factory.mktemp("closer") / "closer.avi", win)
    cam = with_detector(load_camera_file(Path("config/cameras/vtest.yaml"), None), crowd_passes=0)
    truth = load_truth(GT_PATH).zoomed(win)
    result = evaluate(cam, video=video, models=MODELS, truth=truth, n_lines=16, min_gt=3)
    for name in ("tune", "held-out"):
        print(name, {k: v for k, v in result[name].items() if k != "per_line"})
    return result


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first one replays a whole video in its fixture
def test_real_detector_counts_lines_for_a_closer_camera(closer_eval: dict[str, Any]) -> None:
    # Big people walking in and out of the picture: a new track must not take over the line
    # state of someone of another size or too far away (that over-counted here by 10-20%).
    assert closer_eval["close_ups"] == 0
    for name in ("tune", "held-out"):
        got = closer_eval[name]
        assert got["lines"] >= 12
        assert got["mean"] >= CLOSER_MEAN, name
        assert got["crossings_right"] >= CLOSER_RIGHT, name
    assert closer_eval["occupancy_mae"] <= MAE_MAX
    assert max(closer_eval["zone_mae"].values()) <= MAE_MAX


# Thresholds for the slow tests: what we reach (models/README.md, "Counting accuracy"), minus a
# margin. Measured with close-ups on every detector run (ninth round): tune mean 0.913 / crossings
# right 0.934; held-out mean 0.918 / 0.923 / min 0.67; occupancy MAE 0.45, per zone 0.13-0.39
# (tile passes only, round 5: tune 0.884 / 0.905, held-out 0.900 / 0.900, MAE 0.55). Kept
# ~0.02-0.03 below, as neighbouring settings move the figures by about ±0.02.
ACC_REF = 0.85
ACC_MEAN = 0.89
CROSSINGS_RIGHT = 0.90
ACC_MIN_HELD_OUT = 0.5
MAE_MAX = 0.7
# Closer camera, measured (round 5, this fixture's 16 + 16 lines): tune mean 0.850 / crossings
# right 0.884, held-out 0.825 / 0.874, occupancy MAE 0.67, per zone 0.06-0.51 (round 2, before
# the hand-over checked size and walking reach: tune 0.755, held-out 0.675).
CLOSER_MEAN = 0.79
CLOSER_RIGHT = 0.83
