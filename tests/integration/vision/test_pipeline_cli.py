"""`edge-agent vision replay` and `edge-agent camera snapshot` as a field engineer runs them."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from click.testing import Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edge_agent.cli.camera_cmd import app as camera_app
from edge_agent.cli.output import Exit
from edge_agent.cli.vision_cmd import CameraFileError, load_camera_file
from edge_agent.cli.vision_cmd import app as vision_app
from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.detect import DetectorSettings
from edge_agent.vision.pipeline import Pipeline
from edge_agent.vision.snapshot import take_snapshot
from tests.integration.vision.gt_support import BlobDetector, pictures_of, walkers_video

root = typer.Typer()
root.add_typer(vision_app, name="vision")
root.add_typer(camera_app, name="camera")
runner = CliRunner()
MODELS_OK = Path("models/cache/ssdlite_person.pb").is_file()

CAMERA_YAML = """\
id: door-cam
source: walk.avi
width: 320
height: 240
lines:
  - {id: door, points: [[0.5, 0.1], [0.5, 0.95]]}
zones:
  - {id: left, points: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}
detector: {tiles: [1, 1]}
"""
#: Anchors of aliases of anchors: `*l6` stands for 9**7 words.
LAUGHS = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 7)
)


def replay_json(scene: Path, config: Path, *extra: str) -> Result:
    """`edge-agent vision replay walk.avi --camera-config CONFIG --json EXTRA...`."""
    video = str(scene / "walk.avi")
    return runner.invoke(
        root, ["vision", "replay", video, "--camera-config", str(config), "--json", *extra]
    )


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    walkers_video(tmp_path / "walk.avi", [(0.85, 0.7, 0.15, 0.7)], frames=20)
    (tmp_path / "cam.yaml").write_text(CAMERA_YAML)
    (tmp_path / "site.yaml").write_text(
        "cameras:\n"
        + "".join(
            f"  - {line}\n" if i == 0 else f"    {line}\n"
            for i, line in enumerate(CAMERA_YAML.splitlines())
        )
        + "  - {id: other, source: x.avi}\n"
    )
    return tmp_path


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_replay_prints_json_counts_and_writes_per_frame_lines(scene: Path) -> None:
    out = scene / "frames.jsonl"
    res = replay_json(scene, scene / "cam.yaml", "--frames-out", str(out))
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["frames"] == 20
    assert report["runtime"] == "openvino"  # a figure says which engine made it
    assert set(report["lines"]) == {"door"}
    assert set(report["zones"]) == {"left"}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 20
    assert rows[0] == {
        "frame": 0,
        "people": rows[0]["people"],
        "zones": {"left": rows[0]["zones"]["left"]},
    }


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_replay_picks_a_camera_from_a_full_config(scene: Path) -> None:
    res = replay_json(scene, scene / "site.yaml", "--camera", "door-cam")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["lines"] == {
        "door": {"in": 0, "out": 0}
    }  # rectangles are no people


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_replay_needs_only_lines_and_zones_from_the_camera_file(scene: Path) -> None:
    # the video stands in for the camera: no `id` or `source` to invent for a recorded clip
    (scene / "lines.yaml").write_text(
        "lines:\n  - {id: door, points: [[0.5, 0.1], [0.5, 0.95]]}\n"
        "zones:\n  - {id: left, points: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}\n"
    )
    res = replay_json(scene, scene / "lines.yaml")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["frames"] == 20
    assert set(report["lines"]) == {"door"} and set(report["zones"]) == {"left"}


def test_replay_asks_which_camera_when_the_config_has_several(scene: Path) -> None:
    res = replay_json(scene, scene / "site.yaml")
    assert res.exit_code == 2
    assert "--camera" in json.loads(res.output)["error"]["hint"]


def test_replay_reports_an_invalid_line_with_its_place(scene: Path) -> None:
    (scene / "bad.yaml").write_text(CAMERA_YAML.replace("[0.5, 0.95]", "[0.5, 1.7]"))
    res = replay_json(scene, scene / "bad.yaml")
    assert res.exit_code == 3
    message = json.loads(res.output)["error"]["message"]
    line = next(i for i, t in enumerate(CAMERA_YAML.splitlines(), 1) if "[0.5, 0.95]" in t)
    assert f"bad.yaml:{line}:" in message and "lines.0.points" in message, message
    assert "normalised" in message
    assert "Value error" not in message, "our words, not pydantic's"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            CAMERA_YAML.replace("{id: door,", "{id: t\xfcr,").encode("latin-1"),
            "not UTF-8 text (line 6)",
        ),
        (CAMERA_YAML.replace("width: 320", "width: !!int x").encode(), "bad.yaml:3:8: YAML"),
        (
            CAMERA_YAML.replace("zones:\n", f"{LAUGHS}zones: *l6\nx-zones:\n").encode(),
            "bad.yaml:13:5: YAML: aliases repeat more than 100,000 values, &l6 the largest",
        ),
        ((CAMERA_YAML + "#" * 2**20).encode(), "bad.yaml is larger than the 1 MiB"),
    ],
    ids=["latin-1 bytes", "bad tag", "billion laughs", "over 1 MiB"],
)
def test_replay_reports_a_camera_file_it_cannot_read(scene: Path, raw: bytes, words: str) -> None:
    (scene / "bad.yaml").write_bytes(raw)
    res = replay_json(scene, scene / "bad.yaml")
    assert res.exit_code == 3, res.output
    message = json.loads(res.output)["error"]["message"]
    assert "bad.yaml" in message and words in message


def test_replay_without_models_names_the_fetch_command(scene: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    (empty / "manifest.yaml").write_text(Path("models/manifest.yaml").read_text())
    res = replay_json(scene, scene / "cam.yaml", "--models-dir", str(empty))
    assert res.exit_code == 5
    assert "edge-agent models fetch" in res.output


def test_relative_paths_in_a_camera_file_are_relative_to_that_file(tmp_path: Path) -> None:
    folder = tmp_path / "branch"
    folder.mkdir()
    (folder / "door.yaml").write_text(
        "id: door\nsource: rtsp_clip.mp4\ncredentials_file: secrets/door.cred\n"
    )
    cam = load_camera_file(folder / "door.yaml", None)
    assert cam.source == str(folder / "rtsp_clip.mp4"), "a file whose name starts with rtsp"
    assert cam.credentials_file == folder / "secrets" / "door.cred"


def test_snapshot_of_an_unknown_camera_exits_not_found(scene: Path) -> None:
    res = runner.invoke(
        root, ["camera", "snapshot", "nope", "--config", str(scene / "site.yaml"), "--json"]
    )
    assert res.exit_code == 5
    res = runner.invoke(root, ["camera", "snapshot", "nope", "--config", str(scene / "site.yaml")])
    assert res.exit_code == 5
    assert "cameras: door-cam, other" in res.output, "the ids to pick from, as typed"
    assert "['" not in res.output, res.output
    res = runner.invoke(
        root,
        ["vision", "replay", str(scene / "walk.avi"), "--camera-config", str(scene / "site.yaml")],
    )
    assert res.exit_code == 2 and "lists cameras: door-cam, other" in res.output, res.output


def test_snapshot_of_a_dead_camera_says_why(scene: Path) -> None:
    (scene / "dead.yaml").write_text(CAMERA_YAML.replace("walk.avi", "missing.avi"))
    res = runner.invoke(
        root,
        [
            "camera",
            "snapshot",
            "door-cam",
            "--config",
            str(scene / "dead.yaml"),
            "--out",
            str(scene / "v.png"),
            "--json",
        ],
    )
    assert res.exit_code == 1
    assert "no_signal" in res.output
    assert not (scene / "v.png").exists()


def test_snapshot_to_a_path_it_cannot_write_says_why_before_reading_the_camera(
    scene: Path,
) -> None:
    # A dead camera: had it been read first, the answer would be its no_signal.
    (scene / "dead.yaml").write_text(CAMERA_YAML.replace("walk.avi", "missing.avi"))
    snapshot = ["camera", "snapshot", "door-cam", "--config", str(scene / "dead.yaml"), "--out"]
    for out, why in (
        (scene, "it is a directory"),
        (scene / "cam.yaml" / "v.png", "Not a directory"),  # any OS reason, as the OS says it
    ):
        res = runner.invoke(root, [*snapshot, str(out)])
        assert res.exit_code == 1, res.output
        assert isinstance(res.exception, SystemExit), res.exception  # no traceback
        assert f"error: cannot write {out}: {why}" in res.output
        assert "hint: give --out a" in res.output
        assert "no_signal" not in res.output
        as_json = runner.invoke(root, [*snapshot, str(out), "--json"])
        assert as_json.exit_code == 1
        assert json.loads(as_json.output)["error"]["code"] == "failed"
    assert "--out " + str(scene / "view.png") in runner.invoke(root, [*snapshot, str(scene)]).output
    # A camera that works: the folder is said, not an IsADirectoryError traceback.
    live = ["camera", "snapshot", "door-cam", "--config", str(scene / "cam.yaml"), "--out"]
    res = runner.invoke(root, [*live, str(scene)])
    assert res.exit_code == 1 and "it is a directory" in res.output, res.output
    # A folder that is not there yet is fine (the snapshot makes it); the check leaves no trace.
    res = runner.invoke(root, [*snapshot, str(scene / "new" / "sub" / "v.png")])
    assert res.exit_code == 1 and "no_signal" in res.output, res.output
    assert not (scene / "new").exists()


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_snapshot_says_what_it_wrote_in_words_not_python_reprs(scene: Path) -> None:
    out = scene / "view.png"
    res = runner.invoke(
        root,
        ["camera", "snapshot", "door-cam", "--config", str(scene / "cam.yaml"), "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert f"wrote {out} (320x240)" in said and "zones left=" in said, said
    assert not set("[]{}'") & set(said), said  # tracks and zones as words, not lists and dicts
    assert out.is_file()


def test_snapshot_takes_the_camera_argument_as_text_not_markup(scene: Path) -> None:
    # A file with one camera entry takes any CAMERA argument; it is shown while reading.
    (scene / "dead.yaml").write_text(CAMERA_YAML.replace("walk.avi", "missing.avi"))
    dead, out = str(scene / "dead.yaml"), str(scene / "v.png")
    res = runner.invoke(root, ["camera", "snapshot", "[/x]", "--config", dead, "--out", out])
    assert res.exit_code == 1 and "no_signal" in res.output, res.exception


def test_snapshot_of_a_usb_camera_that_gives_nothing_says_what_to_check(scene: Path) -> None:
    (scene / "usb.yaml").write_text(CAMERA_YAML.replace("walk.avi", "/dev/video99"))
    res = runner.invoke(
        root, ["camera", "snapshot", "door-cam", "--config", str(scene / "usb.yaml"), "--json"]
    )
    assert res.exit_code == 1
    error = json.loads(res.output)["error"]
    assert "no_signal" in error["message"]
    assert "one program at a time" in error["hint"]  # the running daemon holds the device


def test_snapshot_with_a_credentials_file_that_is_not_text_names_the_file(scene: Path) -> None:
    (scene / "cam.cred").write_bytes(b"viewer:p\xe4ss\n")  # saved as Latin-1
    (scene / "ip.yaml").write_text(
        CAMERA_YAML.replace("walk.avi", "rtsp://127.0.0.1:9/s")
        + f"credentials_file: {scene / 'cam.cred'}\n"
    )
    res = runner.invoke(
        root, ["camera", "snapshot", "door-cam", "--config", str(scene / "ip.yaml"), "--json"]
    )
    assert res.exit_code == 3, res.output
    assert "cam.cred is not UTF-8 text" in json.loads(res.output)["error"]["message"]


def test_snapshot_draws_the_scene_with_track_ids(scene: Path) -> None:
    cam = CameraSettings.model_validate(
        {
            "id": "door-cam",
            "source": str(scene / "walk.avi"),
            "width": 320,
            "height": 240,
            "lines": [{"id": "door", "points": [[0.5, 0.1], [0.5, 0.95]]}],
            "zones": [{"id": "left", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}],
        }
    )
    out = scene / "view.png"
    shot = take_snapshot(
        cam, Path("models"), out, warmup_frames=8, pipeline=Pipeline(cam, BlobDetector())
    )
    image = cv2.imread(str(out))
    assert image is not None
    assert image.shape == (240, 320, 3)
    assert shot.tracks  # the walker was confirmed and labelled
    assert shot.detections == 1


class HidingDetector:
    """The tiles see one person; a close-up around them sees a second, half behind."""

    NEAR = (150.0, 80.0, 170.0, 140.0)
    BEHIND = (162.0, 78.0, 182.0, 136.0)

    def __init__(self) -> None:
        self.settings = DetectorSettings(crowd_load=None)

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        return np.asarray([[*self.NEAR, 0.9]], np.float32)

    def detect_crops(self, frame_bgr: np.ndarray, crops: list[tuple[int, ...]]) -> np.ndarray:
        found = [[*self.NEAR, 0.8], [*self.BEHIND, 0.7]]
        return np.asarray(found if crops else [], np.float32).reshape(-1, 5)


def test_snapshot_counts_and_draws_whom_the_close_ups_find(scene: Path) -> None:
    # The engineer sees the people the close-ups find, half hidden behind someone else.
    cam = CameraSettings.model_validate(
        {"id": "door-cam", "source": str(scene / "walk.avi"), "width": 320, "height": 240}
    )
    out = scene / "view.png"
    shot = take_snapshot(
        cam, Path("models"), out, warmup_frames=8, pipeline=Pipeline(cam, HidingDetector())
    )
    assert shot.people == 2
    assert shot.detections == 2  # both drawn


def test_snapshot_of_a_camera_with_a_motion_gate_and_a_plain_detector(scene: Path) -> None:
    # The snapshot's recorder offers focused detection only where the detector has it.
    from edge_agent.vision.detect.motion import Mog2MotionGate

    cam = CameraSettings.model_validate(
        {"id": "door-cam", "source": str(scene / "walk.avi"), "width": 320, "height": 240}
    )
    pipe = Pipeline(cam, BlobDetector(), gate=Mog2MotionGate())
    shot = take_snapshot(cam, Path("models"), scene / "view.png", warmup_frames=12, pipeline=pipe)
    assert shot.detections == 1


TAGS = ["!!timestamp", "!!bool", "!!int", "!!float", "!!binary", "!!omap", "!!set", "!!str"]
TAGS += ["!!null", "!!seq", "!!map", "!!python/tuple", "!local"]
tagged_yaml = st.builds(
    "id: c\nsource: x.avi\n{}: {} {}\n".format,
    st.sampled_from(["fps", "width", "lines", "zones", "id", "source", "cameras", "detector"]),
    st.sampled_from(TAGS),
    st.sampled_from(["2020-13-45", "2020-01-01", "x", "''", "1", "[1]", "{a: 1}", "9" * 4301])
    | st.text(max_size=8),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=300).map(str.encode),
        st.binary(max_size=300),  # not UTF-8 text, mostly
        tagged_yaml.map(str.encode),
    )
)
@example(b"lines: !! [(]")  # a tagged list: ruamel keeps no item positions for it
@example(b"lines: {}")
def test_any_camera_file_gives_a_camera_or_a_typed_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        cam = load_camera_file(path, None)
    except CameraFileError as exc:
        assert exc.code in (Exit.CONFIG, Exit.USAGE, Exit.NOT_FOUND)
    else:
        assert isinstance(cam, CameraSettings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(["cameras", "id", "source", "lines", "zones", "points", "kind", "x"]),
            kids,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values)
def test_any_camera_structure_gives_a_camera_or_a_typed_error(
    tmp_path: Path, value: object
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(json.dumps(value))  # JSON is YAML
    try:
        load_camera_file(path, None)
    except CameraFileError as exc:
        assert exc.code in (Exit.CONFIG, Exit.USAGE, Exit.NOT_FOUND)


def test_a_camera_file_with_a_yaml_merge_key_still_locates_its_error(tmp_path: Path) -> None:
    (tmp_path / "cams.yaml").write_text(
        "defaults: &d {fps: -1, width: 320}\n"  # the bad value comes in through the merge
        "cameras:\n"
        "  - <<: *d\n"
        "    id: door\n"
        "    source: walk.avi\n"
    )
    with pytest.raises(CameraFileError) as info:
        load_camera_file(tmp_path / "cams.yaml", "door")
    assert "cams.yaml:3:" in str(info.value) and "fps" in str(info.value)


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_replay_of_a_faster_file_says_how_many_of_its_frames_it_processed(scene: Path) -> None:
    video = walkers_video(scene / "fast.avi", [(0.85, 0.7, 0.15, 0.7)], frames=75, fps=25.0)
    cam = scene / "cam.yaml"
    res = runner.invoke(root, ["vision", "replay", str(video), "--camera-config", str(cam)])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())  # the terminal may wrap the line
    assert said.startswith("30 frames of the file's 75 (3.0 s of video) in "), said
    res = runner.invoke(
        root, ["vision", "replay", str(video), "--camera-config", str(cam), "--json"]
    )
    report = json.loads(res.output)
    assert (report["frames"], report["source_frames"]) == (30, 75)


@pytest.mark.skipif(not MODELS_OK, reason="needs `edge-agent models fetch`")
def test_a_replay_stopped_by_a_broken_picture_says_how_much_it_covered(scene: Path) -> None:
    """Pictures 1-10 of 20 are read before the 11th will not decode: 1.0 s of a 10 fps folder,
    though a 5 fps camera processed only every other one of them."""
    video = walkers_video(scene / "w.avi", [(0.85, 0.7, 0.15, 0.7)], frames=20)
    folder = pictures_of(video, scene / "pictures", broken=11)
    cam = scene / "cam5.yaml"
    cam.write_text(CAMERA_YAML + "fps: 5\n")
    args = ["vision", "replay", str(folder), "--camera-config", str(cam), "--source-fps", "10"]
    res = runner.invoke(root, [*args, "--json"])
    report = json.loads(res.output)
    assert "011.png" in str(report["stopped"])
    assert (report["frames"], report["source_frames"]) == (5, 10)
    assert report["media_seconds"] == pytest.approx(1.0)
    said = " ".join(runner.invoke(root, args).output.split())
    assert said.startswith("5 frames of the first 10 of the file (1.0 s of video) in "), said
