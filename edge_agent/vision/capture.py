"""Frame source for one camera: RTSP URL, V4L2 device, video file or folder of pictures, through OpenCV.

A camera is judged by what it delivers, so `reason` says why frames are missing or useless:
`ok`, `no_signal` (cannot open / lost), `frozen` (the same picture over and over), `auth_failed`
(the RTSP server answered 401), `decode_error` (opens, but the stream is not decodable).
Live sources reconnect with jittered exponential backoff. File timestamps come from the file's own
frame timing, so a replay at full speed still gives the tracker real-time motion; a folder of
numbered pictures plays as a file at its own frame rate (vision.sequence).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from .rtsp_probe import probe_rtsp
from .sequence import ImageSequence, SequenceError

Reason = Literal["ok", "no_signal", "frozen", "auth_failed", "decode_error"]
_DEVICE = re.compile(r"/dev/video([0-9]{1,4})")  # fullmatch: ASCII digits, no trailing newline
_NETWORK = ("rtsp://", "rtsps://", "http://", "https://")
_DETAILS: dict[str, str] = {
    "no_signal": "no video from {where}: check the address, the port, the cable or the network",
    "auth_failed": "{where} refused the user and password (credentials_file)",
    "decode_error": "{where} answered, but its video cannot be decoded: check the stream's codec",
    "frozen": "{where} keeps sending the same picture: the camera or its encoder is stuck",
}
_FROZEN_DIFF = (
    1e-3  # mean absolute difference of the thumbnails; repeated encoder output is exactly 0
)
#: How long OpenCV may wait on a network camera to open or to deliver a frame. OpenCV's FFmpeg
#: backend defaults to 30 s: a camera that accepts the connection and then says nothing held the worker
#: silent long enough to be taken for a stuck one.
NETWORK_TIMEOUT_S = 10.0
#: `read()` returns None rather than sleep longer than this while a reconnect is pending, so the
#: worker's loop (and its heartbeat) keeps turning during a long backoff.
MAX_WAIT_S = 1.0


def fit_size(
    width: int, height: int, max_width: int | None, max_height: int | None
) -> tuple[int, int]:
    """The size a `width` x `height` frame is scaled to so it fits `max_width` x `max_height`.

    The frame keeps its shape: a 16:9 camera in the default 640x480 gives 640x360, not people
    squeezed thin. A small frame is scaled up to fill the box, as the detector wants the pixels.
    A side given as None does not limit; with neither, the frame keeps its size.
    """
    ratios = [m / n for m, n in ((max_width, width), (max_height, height)) if m]
    if not ratios or width < 1 or height < 1:
        return width, height
    scale = min(ratios)
    return max(1, round(width * scale)), max(1, round(height * scale))


class Capture:
    """Open a source and hand out `(timestamp_s, frame)` pairs; never raises on a bad source.

    Args:
        source: `rtsp://...`, `/dev/videoN`, a video file or a folder of numbered pictures.
        resize: `(width, height)` for frames to fit inside, keeping their shape (`fit_size`); a
            side may be None (no limit on it); None: frames as they come.
        fps: target frame rate; frames closer together than `1/fps` are skipped: the decoder still
            reads them (a codec needs every frame), but they are not converted or processed.
        frozen_after_s: identical frames for this long set reason `frozen`.
        backoff: first and largest wait between reconnect attempts, in seconds.
        loop: replay a file from the start at its end (demo cameras); timestamps keep rising.
        source_fps: frame rate of a folder of pictures, over its seqinfo.ini (vision.sequence).
        network_timeout_s: longest wait for a network camera to open or send the next frame.
        clock, sleep: injected for tests.
    """

    def __init__(
        self,
        source: str,
        *,
        resize: tuple[int | None, int | None] | None = None,
        fps: float | None = None,
        frozen_after_s: float = 5.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        loop: bool = False,
        network_timeout_s: float = NETWORK_TIMEOUT_S,
        source_fps: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import cv2

        self._cv2: Any = cv2
        self.source = source
        self.is_file = not (source.startswith(_NETWORK) or _DEVICE.fullmatch(source))
        self._resize = resize
        self._interval = 1.0 / fps if fps else 0.0
        self._frozen_after = frozen_after_s
        self._backoff_min, self._backoff_max = backoff
        self._backoff = self._backoff_min
        self._loop = loop
        self._timeout_ms = round(network_timeout_s * 1000)
        self._source_fps = source_fps
        self._sequence_problem = ""  # why a folder of pictures cannot be played
        self._clock = clock
        self._sleep = sleep
        self._cap: Any = None
        self._reason: Reason = "no_signal"
        self._unusable = _source_problem(source)
        self._retry_at = 0.0
        self._last_ts: float | None = None  # the last frame handed out
        self._grab_ts: float | None = None  # the last frame grabbed, handed out or skipped
        self._due: float | None = None  # the next frame is handed out from this time on
        self._offset = 0.0  # added to file timestamps after a loop restart
        self._thumb: np.ndarray | None = None
        self._same_since: float | None = None
        self._frame_s = 0.0  # how long one frame of a file lasts; 0: a live source, or not said
        self.ended = False
        self.frames = 0
        self.grabbed = 0  # source frames read so far, decoded or skipped (file frame numbers)
        self.failures = 0

    @property
    def reason(self) -> Reason:
        return self._reason

    @property
    def grabbed_until(self) -> float | None:
        """Where the file's frames grabbed so far end, in seconds of the file: the last one's
        time plus one frame's length (None before the first). A replay that fps-skips the file's
        last frames still covers them, so `3 s of video` is the file's length, not one frame less.
        """
        return None if self._grab_ts is None else self._grab_ts + self._frame_s

    @property
    def frame_s(self) -> float:
        """How long one frame of the file lasts (1 / its frame rate); 0 for a live source."""
        return self._frame_s

    @property
    def detail(self) -> str:
        """What the reason means for this source, in words for the engineer ("" when ok). Names
        a network camera by scheme, host and port only: never its user or password. The worker
        passes it on with the reason."""
        if self._unusable:
            return self._unusable
        reason, where = self._reason, self._where()
        if reason == "ok":
            return ""
        if self.is_file:
            if not _exists(self.source):
                return f"no file at {self.source}"
            if self._sequence_problem:
                return self._sequence_problem
            if reason == "decode_error":
                return f"{where} is not a video this build of OpenCV can read"
        elif _DEVICE.fullmatch(self.source) and reason == "no_signal":
            return f"{where} gives no picture: unplugged, or another program holds it"
        return _DETAILS[reason].format(where=where)

    def _where(self) -> str:
        if not self.source.startswith(_NETWORK):
            return self.source
        parts = urlsplit(self.source)  # parses: _source_problem said so
        port = f":{parts.port}" if parts.port else ""
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{parts.scheme}://{host}{port}"

    def _open(self) -> bool:
        cv2 = self._cv2
        self._sequence_problem = ""
        if self._unusable or (self.is_file and not _exists(self.source)):
            self._reason = "no_signal"
            return False
        device = _DEVICE.fullmatch(self.source)
        cap: Any
        if self.is_file and Path(self.source).is_dir():
            try:
                cap = ImageSequence(Path(self.source), self._source_fps)
            except SequenceError as exc:
                self._sequence_problem = str(exc)
                self._reason = "decode_error"
                return False
        elif device:
            cap = cv2.VideoCapture(int(device.group(1)), cv2.CAP_V4L2)
        elif self.is_file:
            cap = cv2.VideoCapture(self.source)
        else:
            timeouts = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                self._timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                self._timeout_ms,
            ]
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, timeouts)
        if cap.isOpened():
            self._cap = cap
            self._reason = "ok"
            rate = float(cap.get(cv2.CAP_PROP_FPS)) if self.is_file else 0.0
            self._frame_s = 1.0 / rate if 0 < rate < 1000 else 0.0
            return True
        cap.release()
        if self.is_file:
            self._reason = "decode_error"  # the file exists, so OpenCV could not make sense of it
        elif self.source.startswith(("rtsp://", "rtsps://")):
            self._reason = probe_rtsp(self.source, timeout_s=min(3.0, self._timeout_ms / 1000))
        else:
            self._reason = "no_signal"
        return False

    def _fail(self, reason: Reason) -> None:
        """Drop the source and schedule a reconnect (live) or stop (file)."""
        self._reason = reason
        self.failures += 1
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        jitter = random.uniform(0.8, 1.2)
        self._retry_at = self._clock() + self._backoff * jitter
        self._backoff = min(self._backoff * 2, self._backoff_max)

    def read(self) -> tuple[float, np.ndarray] | None:
        """The next frame, or None when there is none now (see `reason`, and `ended` for files).

        While a reconnect is pending it blocks for at most MAX_WAIT_S, so a caller's loop
        neither spins nor goes quiet for a whole backoff.
        """
        if self.ended:
            return None
        if self._cap is None:
            wait = self._retry_at - self._clock()
            if wait > MAX_WAIT_S:
                self._sleep(MAX_WAIT_S)
                return None
            if wait > 0:
                self._sleep(wait)
            if not self._open():
                self._fail(self._reason)
                if self.is_file and self._reason == "decode_error" and not self._loop:
                    self.ended = True  # a replay ends; a camera on a file tries again (backoff)
                return None
            self._backoff = self._backoff_min
        return self._next()

    def _next(self) -> tuple[float, np.ndarray] | None:
        cv2 = self._cv2
        while True:
            if not self._cap.grab():
                return self._end_of_stream()
            self.grabbed += 1
            ts = self._timestamp()
            self._grab_ts = ts
            if not self._take(ts):
                continue  # skipped: decoded by grab(), never converted or processed
            ok, frame = self._cap.retrieve()
            if not ok or frame is None or frame.size == 0:
                self._sequence_problem = getattr(self._cap, "problem", "")
                if self._loop and isinstance(self._cap, ImageSequence):
                    # A looping folder (a demo camera) skips a picture it cannot read: the next
                    # one still reads, where starting over would never get past it. (If none
                    # reads, the end of the folder says decode_error.)
                    continue
                self._fail("decode_error")
                # A file read once ends here: starting it over would hand out its frames twice.
                self.ended = self.is_file and not self._loop
                return None
            self._last_ts = ts
            if self._resize is not None:
                size = fit_size(frame.shape[1], frame.shape[0], *self._resize)
                if (frame.shape[1], frame.shape[0]) != size:
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            self.frames += 1
            self._check_frozen(ts, frame)
            return ts, frame

    def _take(self, ts: float) -> bool:
        """Whether the frame at `ts` is due at the target fps.

        Frames are due on a fixed grid (one `interval` after the last due time), not one interval
        after the last frame taken: a 25 fps source read at 10 fps gives 10 frames a second, not
        the 8.3 that waiting a whole interval after each taken frame (0.12 s apart) would give.
        After a stall longer than an interval the grid restarts at the next frame, without a burst.
        """
        if not self._interval:
            return True
        due = self._due
        if due is not None and ts < due - self._interval * 0.001:
            return False
        start = ts if due is None or ts - due >= self._interval else due
        self._due = start + self._interval
        return True

    def _timestamp(self) -> float:
        if not self.is_file:
            return self._clock()
        ms = float(self._cap.get(self._cv2.CAP_PROP_POS_MSEC))
        if (
            ms <= 0 and self._grab_ts is not None
        ):  # some containers report no times: use the frame rate
            rate = float(self._cap.get(self._cv2.CAP_PROP_FPS)) or 25.0
            return self._grab_ts + 1.0 / rate
        return self._offset + ms / 1000.0

    def _end_of_stream(self) -> tuple[float, np.ndarray] | None:
        if not self.is_file:
            self._fail("no_signal")
            return None
        if self.frames == 0:  # opened, yet not one frame decodes
            self._fail("decode_error")
            self.ended = not self._loop
            return None
        if self._loop and self._last_ts is not None:
            self._offset = self._last_ts + (self._interval or 0.1)
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            return self._next()
        self.ended = True
        return None

    def _check_frozen(self, ts: float, frame: np.ndarray) -> None:
        thumb = self._cv2.resize(frame, (32, 24), interpolation=self._cv2.INTER_AREA).astype(
            np.float32
        )
        same = (
            self._thumb is not None and float(np.mean(np.abs(thumb - self._thumb))) <= _FROZEN_DIFF
        )
        self._thumb = thumb
        if not same:
            self._same_since = ts
            self._reason = "ok"
            return
        self._same_since = ts if self._same_since is None else self._same_since
        self._reason = "frozen" if ts - self._same_since >= self._frozen_after else "ok"

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _exists(path: str) -> bool:
    """A video file, or a folder that may hold numbered pictures."""
    p = Path(path)
    return p.is_file() or p.is_dir()


def _source_problem(source: str) -> str | None:
    """Why OpenCV must not be handed `source` (it crashes on unpaired surrogates), or None."""
    if "\x00" in source or any("\ud800" <= c <= "\udfff" for c in source):
        return "the source is not valid text (a NUL or an unpaired surrogate)"
    if not source.startswith(_NETWORK):
        return None
    try:
        parts = urlsplit(source)
    except ValueError:  # an unclosed IPv6 bracket, or a host that changes under NFKC
        return "the source URL does not parse as scheme://[user:password@]host[:port]/path"
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return "the source URL's port is not a number from 0 to 65535"
    if not parts.hostname:
        return "the source URL names no host"
    return None
