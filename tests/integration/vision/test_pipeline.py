"""The full per-camera pipeline on real video files: capture -> detect -> track -> count."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.pipeline import Pipeline
from edge_agent.vision.replay import replay
from tests.integration.vision.gt_support import BlobDetector, pictures_of, walkers_video

DOOR = {"id": "door", "points": [[0.5, 0.1], [0.5, 0.95]]}  # drawn downwards: `in` = right to left
LEFT = {"id": "left", "points": [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]}


def camera(video: Path, **kw: object) -> CameraSettings:
    base: dict[str, object] = {
        "id": "test",
        "source": str(video),
        "width": 320,
        "height": 240,
        "lines": [DOOR],
        "zones": [LEFT],
        "motion_gate": False,
    }
    base.update(kw)
    return CameraSettings.model_validate(base)


def run(video: Path, cam: CameraSettings, **kw: object):  # type: ignore[no-untyped-def]
    return replay(video, cam, Path("models"), pipeline=Pipeline(cam, BlobDetector()), **kw)  # type: ignore[arg-type]


def test_one_person_walking_right_to_left_through_the_door_counts_one_in(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "in.avi", [(0.85, 0.7, 0.15, 0.7)])
    report = run(video, camera(video))
    assert report.lines == {"door": {"in": 1, "out": 0}}


def test_two_people_passing_in_opposite_directions_count_one_each_way(tmp_path: Path) -> None:
    video = walkers_video(
        tmp_path / "pass.avi", [(0.85, 0.6, 0.15, 0.6), (0.15, 0.9, 0.85, 0.9)], frames=50
    )
    report = run(video, camera(video))
    assert report.lines == {"door": {"in": 1, "out": 1}}


def test_person_walking_beside_the_end_of_the_line_is_not_counted(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "beside.avi", [(0.85, 0.7, 0.15, 0.7)])
    short = {"id": "door", "points": [[0.5, 0.05], [0.5, 0.3]]}
    report = run(video, camera(video, lines=[short]))
    assert report.lines == {"door": {"in": 0, "out": 0}}


def test_zone_occupancy_follows_the_person_and_dwell_is_reported(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "zone.avi", [(0.9, 0.7, 0.1, 0.7)], frames=41)
    report = run(video, camera(video), keep_frames=True)
    inside = [r.zones["left"] for r in report.per_frame]
    assert inside[5] == 0  # still on the right
    assert inside[-1] == 1  # ended on the left
    assert report.zones["left"]["visits"] == 1
    assert 1.0 < report.zones["left"]["dwell_p50_s"] < 2.5  # about the last half of a 4 s walk


def test_frames_out_has_one_json_line_per_frame(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "f.avi", [(0.85, 0.7, 0.15, 0.7)], frames=20)
    buf = io.StringIO()
    report = run(video, camera(video), frames_out=buf)
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert len(rows) == report.frames == 20
    assert set(rows[10]) == {"frame", "people", "zones"}
    assert rows[10]["people"] == 1


def test_replay_uses_the_files_own_timestamps_at_full_speed(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "t.avi", [(0.85, 0.7, 0.15, 0.7)], frames=30, fps=5.0)
    report = run(video, camera(video, fps=30), keep_frames=True)
    assert report.per_frame[1].ts - report.per_frame[0].ts == pytest.approx(0.2, abs=1e-6)
    assert report.media_seconds == pytest.approx(30 * 0.2, abs=1e-6)  # 30 frames of 0.2 s


def test_a_2_s_clip_at_30_fps_replayed_at_10_fps_is_reported_as_2_s_of_video(
    tmp_path: Path,
) -> None:
    # The last frames taken at 10 fps are at 1.9 s; the file goes on to 2.0 s, as ffprobe says.
    video = walkers_video(tmp_path / "short.avi", [(0.85, 0.7, 0.15, 0.7)], frames=60, fps=30.0)
    report = run(video, camera(video, fps=10))
    assert report.frames == 20
    assert report.to_dict()["media_seconds"] == pytest.approx(2.0, abs=1e-3)


def test_an_undecodable_file_gives_an_empty_report_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    report = run(bad, camera(bad))
    assert report.frames == 0


def test_frames_out_has_one_line_per_frame_of_a_faster_file(tmp_path: Path) -> None:
    # A 25 fps file processed at 10 fps: per-frame lines still follow the file's own numbering,
    # so they line up with per-frame ground truth; skipped frames repeat the last result.
    video = walkers_video(tmp_path / "fast.avi", [(0.85, 0.7, 0.15, 0.7)], frames=75, fps=25.0)
    out = io.StringIO()
    report = run(video, camera(video, fps=10, detect_fps=None), frames_out=out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["frame"] for x in lines] == list(range(75))
    assert report.frames < 40  # only about 10 of every 25 frames were processed
    assert report.source_frames == 75  # ...of the file's 75, as the report says
    assert report.lines["door"]["in"] == 1


def test_frames_out_has_no_line_for_the_picture_that_stopped_the_replay(tmp_path: Path) -> None:
    video = walkers_video(tmp_path / "w.avi", [(0.85, 0.7, 0.15, 0.7)], frames=12)
    folder = pictures_of(video, tmp_path / "pictures", broken=9)
    out = io.StringIO()
    report = run(folder, camera(folder), frames_out=out, source_fps=10)
    assert report.frames == 8 and "009.png" in str(report.stopped)
    assert report.source_frames == 8  # the picture that stopped it was never counted
    assert [json.loads(x)["frame"] for x in out.getvalue().splitlines()] == list(range(8))
