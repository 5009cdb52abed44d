"""A folder of numbered pictures played as a video: MOTChallenge's layout, or a recorder's export.

`Capture` reads a folder through `ImageSequence`, which answers the few calls it makes of an OpenCV
`VideoCapture` (grab, retrieve, get, set, release), so a folder replays like a file: frames in
natural order ("9.jpg" before "10.jpg"), timestamps from the frame rate, skipped frames never decoded.

Where the frame rate comes from, first found wins:
1. the `fps` the caller gives (`vision replay --source-fps`);
2. `seqinfo.ini` in the folder, or in its parent when the folder is the one `imDir` names
   (MOTChallenge: `[Sequence]` with `imDir`, `frameRate`, `imExt`).
With neither, the folder is refused with a message saying how to give one: the tracker's motion
model works in seconds, so a guessed rate would count wrongly without a word.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

PICTURES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MAX_SEQINFO_BYTES = 64 * 1024
_NUMBER = re.compile(r"(\d+)")


class SequenceError(Exception):
    """The folder cannot be played: no pictures, or no frame rate. The message says what to do."""


def _natural(name: str) -> list[Any]:
    # split() puts the digit runs at the odd places; `isdigit` would also take "²" for one.
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(_NUMBER.split(name))]


def _seqinfo(folder: Path) -> tuple[Path, configparser.SectionProxy] | None:
    """The seqinfo.ini that describes `folder` (its own, or its parent's naming it as imDir).

    The folder's own seqinfo.ini must read. The parent's is only a candidate: one that does not
    read, or has no [Sequence], describes something else and is passed over.
    """
    folder = Path(os.path.abspath(folder))  # "." inside img1 has a parent too
    for ini, pictures in ((folder / "seqinfo.ini", None), (folder.parent / "seqinfo.ini", folder)):
        if not ini.is_file():
            continue
        try:
            section = _sequence_section(ini)
        except SequenceError:
            if pictures is None:
                raise
            continue
        if pictures is not None and section.get("imDir", "img1") != pictures.name:
            continue  # the parent's seqinfo.ini describes another folder
        return ini, section
    return None


def _sequence_section(ini: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if ini.stat().st_size > MAX_SEQINFO_BYTES:
            raise SequenceError(f"{ini}: larger than {MAX_SEQINFO_BYTES} bytes")
        # utf-8-sig: Windows tools write a BOM; a stray byte in `name=` must not hide frameRate
        parser.read_string(ini.read_bytes().decode("utf-8-sig", errors="replace"), str(ini))
    except (OSError, configparser.Error) as exc:
        raise SequenceError(f"{ini}: not readable as an ini file ({type(exc).__name__})") from None
    if not parser.has_section("Sequence"):
        raise SequenceError(f"{ini}: no [Sequence] section")
    return parser["Sequence"]


def _rate(value: str, ini: Path) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0 < rate <= 1000:
        raise SequenceError(f"{ini}: frameRate must be a number of frames a second, got {value!r}")
    return rate


class ImageSequence:
    """Numbered pictures in a folder, read as a `cv2.VideoCapture` would read a video file."""

    def __init__(self, folder: Path, fps: float | None = None) -> None:
        import cv2

        self._cv2: Any = cv2
        folder = Path(os.path.abspath(folder))
        info = _seqinfo(folder)
        pictures, suffixes = folder, PICTURES
        rate = fps
        if info is not None:
            ini, section = info
            im_dir = section.get("imDir", "").strip()
            if ini.parent == folder and im_dir:
                pictures = folder / im_dir
            elif ini.parent == folder and not self._list(folder, PICTURES):
                pictures = folder / "img1"  # MOTChallenge's default
            ext = section.get("imExt")
            # one type, when seqinfo names it ("jpg" means ".jpg")
            suffixes = ("." + ext.strip().lstrip(".").lower(),) if ext and ext.strip() else PICTURES
            if rate is None and "frameRate" in section:
                rate = _rate(section["frameRate"], ini)
        elif (folder / "img1").is_dir() and not self._list(folder, PICTURES):
            pictures = folder / "img1"
        self.files = self._list(pictures, suffixes)
        if not self.files:
            raise SequenceError(
                f"{pictures} holds no pictures ({', '.join(suffixes)}): give a video file, or a "
                "folder of numbered pictures"
            )
        if rate is None:
            raise SequenceError(
                f"{folder} is a folder of {len(self.files)} pictures with no frame rate: put a "
                "seqinfo.ini beside them ([Sequence] frameRate=25), or replay them with "
                "`vision replay --source-fps N`"
            )
        self.fps = rate
        self._pos = 0  # pictures grabbed so far; the current one is files[pos - 1]
        self.problem = ""  # the picture that would not decode

    @staticmethod
    def _list(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
        try:
            found = [
                p
                for p in folder.iterdir()
                # a hidden name is no frame: macOS's "._000001.jpg", an editor's ".~lock" files
                if not p.name.startswith(".") and p.suffix.lower() in suffixes and p.is_file()
            ]
        except OSError:
            return []
        return sorted(found, key=lambda p: _natural(p.name))

    def isOpened(self) -> bool:  # the name OpenCV's VideoCapture gives it
        return True

    def grab(self) -> bool:
        if self._pos >= len(self.files):
            return False
        self._pos += 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        if self._pos == 0:
            return False, None
        path = self.files[self._pos - 1]
        frame = self._cv2.imread(str(path), self._cv2.IMREAD_COLOR)
        if frame is None:
            self.problem = f"{path} is not a picture this build of OpenCV can read"
        return frame is not None, frame

    def get(self, prop: int) -> float:
        cv2 = self._cv2
        if prop == cv2.CAP_PROP_POS_MSEC:  # the time of the picture grabbed last
            return max(self._pos - 1, 0) * 1000.0 / self.fps
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_POS_FRAMES:
            return float(self._pos)
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self.files))
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        if prop != self._cv2.CAP_PROP_POS_FRAMES:
            return False
        self._pos = min(max(int(value), 0), len(self.files))
        return True

    def release(self) -> None:
        self._pos = len(self.files)
