"""`edge-agent vision replay FOLDER`: a sequence of pictures counts exactly as the video it came from.

Recorders export clips as numbered JPEGs, and MOTChallenge data sets (ground truth in the same
frame numbers) come as `img1/` plus `seqinfo.ini`. The real detector runs on the first seconds of
vtest, once from the .avi and once from the same frames written losslessly to a folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import typer
from typer.testing import CliRunner

from edge_agent.cli.output import Exit
from edge_agent.cli.vision_cmd import app as vision_app
from edge_agent.cli.vision_cmd import load_camera_file
from edge_agent.vision.replay import replay
from tests.integration.vision.gt_support import vtest_video
from tests.support.media import MODELS, require

FRAMES = 40
root = typer.Typer()
root.add_typer(vision_app, name="vision")
runner = CliRunner()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest's first FRAMES frames as a MOTChallenge folder: img1/000001.png..., seqinfo.ini."""
    folder = tmp_path_factory.mktemp("PETS09-S2L1")
    (folder / "img1").mkdir()
    cap = cv2.VideoCapture(str(vtest_video()))
    for i in range(1, FRAMES + 1):
        ok, frame = cap.read()
        assert ok
        cv2.imwrite(str(folder / "img1" / f"{i:06d}.png"), frame)
    cap.release()
    (folder / "seqinfo.ini").write_text(
        "[Sequence]\nname=PETS09-S2L1\nimDir=img1\nframeRate=10\n"
        f"seqLength={FRAMES}\nimWidth=768\nimHeight=576\nimExt=.png\n"
    )
    return folder


@pytest.fixture(scope="module")
def steady_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config/cameras/vtest.yaml with close-ups on every detector run. By default a camera takes
    them only while the CPU allows (`crowd_load`), which a busy machine changes from run to run,
    and with them the people found: two replays compared for equality must not depend on that."""
    text = Path("config/cameras/vtest.yaml").read_text()
    old = "detector: {tiles: [2, 1], score_threshold: 0.15}"
    assert old in text
    path = tmp_path_factory.mktemp("camera") / "vtest-steady.yaml"
    path.write_text(text.replace(old, old[:-1] + ", crowd_load: null}"))
    return path


def replay_cli(
    video: Path, *extra: str, camera: Path = Path("config/cameras/vtest.yaml")
) -> tuple[int, dict[str, object]]:
    res = runner.invoke(
        root,
        ["vision", "replay", str(video), "--camera-config", str(camera), "--json", *extra],
    )
    return res.exit_code, json.loads(res.output)


def test_a_mot_folder_counts_exactly_like_the_video_it_was_cut_from(
    sequence: Path, steady_camera: Path
) -> None:
    require(MODELS / "cache" / "ssdlite_person.pb")
    cam = load_camera_file(steady_camera, None)
    from_video = replay(vtest_video(), cam, MODELS, max_frames=FRAMES)
    code, from_folder = replay_cli(sequence, camera=steady_camera)
    assert code == 0, from_folder
    assert from_folder["close_ups"] == from_video.close_ups > 0
    assert from_folder["frames"] == FRAMES
    assert from_folder["media_seconds"] == pytest.approx(from_video.media_seconds)
    assert from_folder["people"] == from_video.to_dict()["people"]
    assert from_video.people_max >= 3  # people were found, so the comparison says something
    assert from_folder["lines"] == from_video.lines
    assert from_folder["zones"] == from_video.to_dict()["zones"]
    assert from_folder["stopped"] is None


def test_the_img1_folder_itself_replays_too(sequence: Path) -> None:
    require(MODELS / "cache" / "ssdlite_person.pb")
    code, report = replay_cli(sequence / "img1")
    assert code == 0, report
    assert report["frames"] == FRAMES and report["media_seconds"] == pytest.approx(4.0)


def test_a_folder_without_a_frame_rate_is_refused_until_one_is_given(
    sequence: Path, tmp_path: Path
) -> None:
    export = tmp_path / "nvr-export"
    export.mkdir()
    for src in sorted((sequence / "img1").iterdir())[:10]:
        (export / f"cam3_{int(src.stem)}.png").write_bytes(src.read_bytes())
    code, report = replay_cli(export)
    assert code == Exit.FAILED
    assert "--source-fps" in str(report["error"])
    code, report = replay_cli(export, "--source-fps", "5")
    assert code == 0, report
    assert report["frames"] == 10 and report["media_seconds"] == pytest.approx(2.0)


def test_a_broken_picture_ends_the_replay_with_what_was_counted_and_why(
    sequence: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    (broken / "img1").mkdir(parents=True)
    (broken / "seqinfo.ini").write_bytes((sequence / "seqinfo.ini").read_bytes())
    for src in sorted((sequence / "img1").iterdir())[:12]:
        (broken / "img1" / src.name).write_bytes(src.read_bytes())
    (broken / "img1" / "000009.png").write_bytes(b"truncated by a full disk")
    code, report = replay_cli(broken)
    assert (
        code == Exit.FAILED
    )  # the figures cover part of the clip: no script may take them as whole
    assert report["frames"] == 8
    assert "000009.png is not a picture" in str(report["stopped"])
