"""The camera worker process: capture -> pipeline -> compact results over a pipe.

Each camera runs here, in its own process started with the 'spawn' method, so a decoder that
crashes or hangs takes down only this process and the daemon restarts it. Only small messages
cross the pipe (counts, crossings, visits, track boxes, state changes); frames never leave.

Messages to the parent, each a tuple:
    ("state", {"reason": code, "detail": str})   capture state changed (ok, no_signal, frozen, ...)
    ("frame", FrameResult.to_dict())             one processed frame
    ("fatal", {"reason": code, "detail": str})   cannot run at all (e.g. model_missing); then exit
    ("alive", {})                                nothing else to say for a heartbeat period (no signal)

A worker that says nothing for the service's `STALL_S` (stuck in a decoder or a driver call) is
killed and restarted with reason `stalled`; before its first message it has `STARTUP_S`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edge_agent.settings.cameras import CameraSettings, CredentialsError

from .pipeline import Pipeline

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

EXIT_FATAL = 3
EPOCH_2001 = 1e9  # timestamps below this are media time (files), above it wall-clock time
IDLE_SLEEP_S = 0.05
HEARTBEAT_S = 5.0
#: Camera workers run this much nicer than the daemon: when they use up the CPU, device commands,
#: MQTT and the store in the daemon's own process still get it first.
WORKER_NICE = 5
CREDENTIALS_RETRY_S = 10.0  # how often an unreadable credentials file is read again


class FrameSource(Protocol):
    """What the worker needs from `vision.capture.Capture`."""

    @property
    def reason(self) -> str: ...

    @property
    def detail(self) -> str:
        """What the reason means for this source, or "" when ok; names no password."""
        ...

    ended: bool

    def read(self) -> tuple[float, npt.NDArray[np.uint8]] | None: ...

    def close(self) -> None: ...


def build_pipeline(settings: CameraSettings, models_dir: Path) -> Pipeline:
    """The production pipeline: SSDLite people, optional faces, MOG2 gate. Raises ModelMissing."""
    from .detect import (
        DetectorSettings,
        FaceSettings,
        Mog2MotionGate,
        MotionSettings,
        build_face_detector,
        build_person_detector,
    )

    detector = build_person_detector(DetectorSettings.model_validate(settings.detector), models_dir)
    faces = None
    if settings.faces is not None:
        faces = build_face_detector(FaceSettings.model_validate(settings.faces), models_dir)
    gate = (
        Mog2MotionGate(MotionSettings.model_validate(settings.motion))
        if settings.motion_gate
        else None
    )
    return Pipeline(settings, detector, gate=gate, faces=faces)


def load_factory(spec: str | None) -> Any:
    """`module:callable` making a Pipeline from (settings, models_dir); default `build_pipeline`."""
    if not spec:
        return build_pipeline
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _open_with_credentials(
    settings: CameraSettings, conn: Connection, heartbeat_s: float
) -> FrameSource:
    """`open_source`, waiting while the camera's credentials file cannot be read (it was replaced
    or its mode changed after the config was checked): the camera says auth_failed and why, and
    picks the file up once it is fixed, without a restart loop."""
    said = False
    while True:
        try:
            return open_source(settings, loop=True)
        except CredentialsError as exc:
            if not said:
                conn.send(("state", {"reason": "auth_failed", "detail": str(exc)}))
                said = True
            waited = 0.0
            while waited < CREDENTIALS_RETRY_S:
                step = min(heartbeat_s, CREDENTIALS_RETRY_S - waited)
                time.sleep(step)
                waited += step
                conn.send(("alive", {}))


def open_source(
    settings: CameraSettings, *, loop: bool, source_fps: float | None = None
) -> FrameSource:
    """Open the camera's source through vision.capture (which resizes and limits fps).

    `source_fps` is the frame rate of a folder of pictures without a seqinfo.ini (replay only).
    """
    from .capture import Capture

    size = (settings.width, settings.height) if settings.width or settings.height else None
    return Capture(
        settings.source_with_credentials(),
        resize=size,
        fps=settings.fps,
        loop=loop,
        source_fps=source_fps,
    )


class WallClock:
    """Maps media timestamps (files start at 0) onto wall-clock time, and paces file playback.

    Files are played at their own speed in the daemon so minutes in the summaries are real minutes;
    a file that loops (timestamps going back) is re-anchored instead of sending time backwards.
    """

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last = 0.0

    def __call__(self, ts: float) -> float:
        if ts >= EPOCH_2001:
            return ts
        if self._offset is None or ts + self._offset < self._last:
            self._offset = time.time() - ts
        wall = ts + self._offset
        delay = wall - time.time()
        if delay > 0:
            time.sleep(min(delay, 1.0))
        self._last = wall
        return wall


def _lower_priority() -> None:
    """Every thread of this process `WORKER_NICE` steps nicer; threads started later inherit it.

    Linux keeps a nice value per thread, and numpy's import has already started some. Where it
    is not allowed, the camera runs at the daemon's priority, as before.
    """
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]  # no /proc: this thread only
    for tid in threads:
        with contextlib.suppress(OSError):
            now = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, now + WORKER_NICE))


def worker_main(
    settings_json: str,
    models_dir: str,
    conn: Connection,
    factory: str | None = None,
    heartbeat_s: float = HEARTBEAT_S,
) -> None:
    """Entry point of the worker process. Runs until killed or the pipe closes.

    With no frame to report, it says ("alive", {}) every `heartbeat_s`.
    """
    from .models import VisionModelError

    _lower_priority()
    settings = CameraSettings.model_validate_json(settings_json)
    try:
        pipeline = load_factory(factory)(settings, Path(models_dir))
    except VisionModelError as exc:
        reason = "model_missing"
        conn.send(("fatal", {"reason": reason, "detail": str(exc)}))
        conn.close()
        raise SystemExit(EXIT_FATAL) from None
    try:
        source = _open_with_credentials(settings, conn, heartbeat_s)  # a demo file plays on
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        return  # stopped while it waited for a readable credentials file
    saver = None
    if settings.debug.save_frames:
        from .snapshot import DebugFrameSaver

        saver = DebugFrameSaver(settings)
    clock = WallClock()
    last_reason: str | None = None
    said_at = time.monotonic()
    try:
        while True:
            got = source.read()
            reason = source.reason
            if reason != last_reason:
                conn.send(("state", {"reason": reason, "detail": source.detail}))
                last_reason, said_at = reason, time.monotonic()
            if got is None:
                if time.monotonic() - said_at >= heartbeat_s:
                    conn.send(("alive", {}))
                    said_at = time.monotonic()
                time.sleep(IDLE_SLEEP_S)
                continue
            ts, frame = got
            result = pipeline.process(clock(ts), frame)
            if saver is not None:
                saver.maybe_save(frame, result)
            del frame
            conn.send(("frame", result.to_dict()))
            said_at = time.monotonic()
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass  # the daemon went away or is stopping us
    finally:
        source.close()
