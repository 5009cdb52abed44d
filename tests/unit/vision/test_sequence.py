"""A folder of numbered pictures read as a video: MOTChallenge's layout and a recorder's export."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.vision.capture import Capture
from edge_agent.vision.sequence import ImageSequence, SequenceError
from tests.unit.vision.test_capture import drain, no_sleep

SEQINFO = "[Sequence]\nname=demo\nimDir=img1\nframeRate={rate}\nseqLength={n}\nimExt=.png\n"


def pictures(folder: Path, n: int, *, ext: str = ".png", width: int = 6) -> Path:
    """`n` pictures whose top-left pixel holds their frame number (1-based, as MOT numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        img = np.zeros((24, 32, 3), np.uint8)
        img[0, 0] = (i, i, i)
        cv2.imwrite(str(folder / f"{i:0{width}d}{ext}"), img)
    return folder


def mot_sequence(root: Path, n: int, rate: float) -> Path:
    pictures(root / "img1", n)
    (root / "seqinfo.ini").write_text(SEQINFO.format(rate=rate, n=n))
    return root


def numbers(frames: list[tuple[float, np.ndarray]]) -> list[int]:
    return [int(f[0, 0, 0]) for _ts, f in frames]


def test_a_mot_folder_plays_in_order_at_its_frame_rate(tmp_path: Path) -> None:
    with Capture(str(mot_sequence(tmp_path / "seq", 12, rate=4))) as cap:
        frames = drain(cap)
    assert numbers(frames) == list(range(1, 13))
    assert [round(ts, 3) for ts, _ in frames[:3]] == [0.0, 0.25, 0.5]
    assert cap.ended and cap.reason == "ok"


def test_its_img1_folder_finds_the_seqinfo_beside_it(tmp_path: Path) -> None:
    root = mot_sequence(tmp_path / "seq", 5, rate=2)
    with Capture(str(root / "img1")) as cap:
        frames = drain(cap)
    assert numbers(frames) == [1, 2, 3, 4, 5]
    assert frames[-1][0] == pytest.approx(2.0)


def test_pictures_go_in_natural_order_not_letter_order(tmp_path: Path) -> None:
    folder = pictures(tmp_path / "export", 12, ext=".jpg", width=1)  # 1.jpg ... 12.jpg
    seq = ImageSequence(folder, fps=5)
    assert [p.name for p in seq.files[:3]] == ["1.jpg", "2.jpg", "3.jpg"]
    assert seq.files[-1].name == "12.jpg"


def test_a_faster_folder_is_read_on_the_cameras_frame_grid(tmp_path: Path) -> None:
    # 25 pictures a second read at 10 fps: 10 frames a second, the skipped ones never decoded
    with Capture(str(mot_sequence(tmp_path / "seq", 50, rate=25)), fps=10) as cap:
        frames = drain(cap)
    assert len(frames) == 20
    assert numbers(frames)[:4] == [1, 4, 6, 9]


def test_a_given_frame_rate_wins_over_the_seqinfo(tmp_path: Path) -> None:
    with Capture(str(mot_sequence(tmp_path / "seq", 4, rate=25)), source_fps=2) as cap:
        frames = drain(cap)
    assert [ts for ts, _ in frames] == [0.0, 0.5, 1.0, 1.5]


def test_a_folder_without_a_frame_rate_says_how_to_give_one(tmp_path: Path) -> None:
    cap = Capture(str(pictures(tmp_path / "export", 3)), sleep=no_sleep)
    assert cap.read() is None
    assert cap.ended and cap.reason == "decode_error"
    assert "--source-fps" in cap.detail and "seqinfo.ini" in cap.detail


def test_a_folder_without_pictures_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    cap = Capture(str(tmp_path / "empty"), source_fps=10, sleep=no_sleep)
    assert cap.read() is None
    assert cap.ended and cap.reason == "decode_error"
    assert f"{tmp_path / 'empty'} holds no pictures" in cap.detail


@pytest.mark.parametrize("rate", ["fast", "0", "-5", "nan", "inf"])
def test_a_frame_rate_that_is_no_rate_is_refused(tmp_path: Path, rate: str) -> None:
    root = mot_sequence(tmp_path / "seq", 2, rate=1)
    (root / "seqinfo.ini").write_text(SEQINFO.format(rate=rate, n=2))
    with pytest.raises(SequenceError, match="frameRate"):
        ImageSequence(root)


def test_a_picture_that_does_not_decode_stops_the_folder_and_is_named(tmp_path: Path) -> None:
    root = mot_sequence(tmp_path / "seq", 6, rate=5)
    (root / "img1" / "000004.png").write_bytes(b"\x89PNG not really")
    cap = Capture(str(root), sleep=no_sleep)
    frames = drain(cap, limit=20)
    assert numbers(frames) == [1, 2, 3]  # nothing after the bad picture is passed off as video
    assert cap.reason == "decode_error"
    assert "000004.png is not a picture" in cap.detail


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_seqinfo_plays_or_gives_a_typed_error(tmp_path: Path, raw: bytes) -> None:
    root = tmp_path / "fuzz"
    if not root.exists():
        pictures(root / "img1", 2)
    (root / "seqinfo.ini").write_bytes(raw)
    try:
        seq = ImageSequence(root)
    except SequenceError as exc:
        assert str(root) in str(exc)
    else:
        assert seq.fps > 0 and seq.files


def test_hidden_files_beside_the_pictures_are_not_frames(tmp_path: Path) -> None:
    # A folder copied through a Mac to a USB stick: "._000001.png" beside every picture.
    root = mot_sequence(tmp_path / "seq", 3, rate=5)
    for pic in list((root / "img1").iterdir()):
        (root / "img1" / f"._{pic.name}").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    with Capture(str(root), sleep=no_sleep) as cap:
        frames = drain(cap)
    assert numbers(frames) == [1, 2, 3]
    assert cap.ended and cap.reason == "ok", cap.detail


@pytest.mark.parametrize(
    "seqinfo",
    [
        b"\xef\xbb\xbf" + SEQINFO.format(rate=5, n=3).encode(),  # Notepad's BOM
        SEQINFO.format(rate=5, n=3).replace("name=demo", "name=Caf\xe9").encode("latin-1"),
        SEQINFO.format(rate=5, n=3).replace("imExt=.png", "imExt=png").encode(),
    ],
    ids=["bom", "latin-1-name", "imExt-without-dot"],
)
def test_a_seqinfo_written_by_another_tool_still_gives_its_frame_rate(
    tmp_path: Path, seqinfo: bytes
) -> None:
    root = mot_sequence(tmp_path / "seq", 3, rate=5)
    (root / "seqinfo.ini").write_bytes(seqinfo)
    seq = ImageSequence(root)
    assert seq.fps == 5 and len(seq.files) == 3


def test_a_seqinfo_about_something_else_above_the_folder_is_not_in_the_way(
    tmp_path: Path,
) -> None:
    frames = pictures(tmp_path / "site" / "frames", 3)
    (tmp_path / "site" / "seqinfo.ini").write_text("[Camera]\nmodel=xyz\n")
    assert len(ImageSequence(frames, fps=5).files) == 3


def test_the_current_folder_finds_the_seqinfo_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = mot_sequence(tmp_path / "seq", 3, rate=4)
    monkeypatch.chdir(root / "img1")
    assert ImageSequence(Path(".")).fps == 4


def test_a_name_with_a_superscript_digit_sorts_without_a_crash(tmp_path: Path) -> None:
    folder = pictures(tmp_path / "export", 2, width=1)
    (folder / "²1.png").write_bytes((folder / "1.png").read_bytes())
    assert [p.name for p in ImageSequence(folder, fps=5).files] == ["1.png", "2.png", "²1.png"]


def test_a_looping_folder_skips_a_picture_it_cannot_read(tmp_path: Path) -> None:
    # a demo camera on a folder: one broken picture must not keep it from the rest, or flap it
    root = mot_sequence(tmp_path / "seq", 6, rate=5)
    (root / "img1" / "000004.png").write_bytes(b"\x89PNG not really")
    cap = Capture(str(root), loop=True, sleep=no_sleep)
    frames = [f for f in (cap.read() for _ in range(10)) if f is not None]
    assert numbers(frames) == [1, 2, 3, 5, 6, 1, 2, 3, 5, 6]
    assert [round(ts, 1) for ts, _ in frames[:5]] == [0.0, 0.2, 0.4, 0.8, 1.0]
    assert cap.reason == "ok"


def test_a_looping_folder_of_nothing_readable_says_which_picture(tmp_path: Path) -> None:
    root = mot_sequence(tmp_path / "seq", 3, rate=5)
    for picture in (root / "img1").iterdir():
        picture.write_bytes(b"not a picture")
    cap = Capture(str(root), loop=True, sleep=no_sleep)
    assert [cap.read() for _ in range(3)] == [None] * 3
    assert cap.reason == "decode_error"
    assert "000003.png is not a picture" in cap.detail


def test_a_camera_on_a_folder_plays_once_its_frame_rate_is_given(tmp_path: Path) -> None:
    # the daemon's camera (loop=True) keeps trying, as it does a network camera: fix the folder
    # and the pictures come, with no restart
    now = [0.0]
    folder = pictures(tmp_path / "export", 3)
    cap = Capture(str(folder), loop=True, clock=lambda: now[0], sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "decode_error" and "no frame rate" in cap.detail
    assert not cap.ended
    (folder / "seqinfo.ini").write_text("[Sequence]\nframeRate=5\n")
    now[0] += 60  # past the backoff
    got = cap.read()
    assert got is not None and int(got[1][0, 0, 0]) == 1
    assert cap.reason == "ok" and cap.detail == ""
