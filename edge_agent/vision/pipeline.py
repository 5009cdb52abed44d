"""One camera's per-frame processing: gate -> detect -> track -> lines and zones -> compact result.

The same code runs in the worker process, in `edge-agent vision replay` and in the benchmarks, so
what replay measures is what the daemon does. Nothing here keeps a frame past `process()`: the
result holds counts, crossings, visits and track boxes, never pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from edge_agent.settings.cameras import CameraSettings

from .budget import CloseUpBudget
from .counting import LineCounter, TrackPoint
from .geometry import foot_point, point_in_polygon
from .track import Track, Tracker
from .zones import ZoneMonitor

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .detect import Detector, FaceDetector, MotionGate

PRESENT_HOLD_S = 1.0  # a confirmed track unseen for up to this long still counts as present
MAX_SKIP_S = 1.0  # run the detector at least this often, even when the gate sees no motion
FULL_SCAN_S = 2.0  # with focused detection, still look everywhere at least this often
DETECT_SLACK = 0.1  # a frame this share of the detector's period early still gets it (live jitter)
FOCUS_MARGIN = 0.5  # a tracked person is looked for within this many box heights of the last box


@dataclass(slots=True)
class FrameResult:
    """What one frame amounts to. Small and picklable: this is all that leaves a worker."""

    frame: int
    ts: float
    people: int
    zones: dict[str, int]
    crossings: list[tuple[str, str, int, float]] = field(
        default_factory=list
    )  # line, dir, track, ts
    visits: list[tuple[str, float, float]] = field(default_factory=list)  # zone, start, end
    faces: int | None = None
    detected: bool = True
    tracks: list[tuple[int, float, float, float, float]] = field(
        default_factory=list
    )  # id, xyxy 0..1
    proc_s: float = 0.0
    close_ups: int = 0  # close-up network passes this frame (detector `crowd_passes`)
    close_ups_on: bool | None = None  # whether detector runs take close-ups now; None: never
    engine: str | None = None  # what runs the person network: "openvino" or "opencv"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Pipeline:
    """Stateful per-camera processor. Feed frames in timestamp order.

    `clock` times the work that decides whether close-ups run (vision/budget.py).
    """

    def __init__(
        self,
        settings: CameraSettings,
        detector: Detector,
        *,
        gate: MotionGate | None = None,
        faces: FaceDetector | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings
        self.detector = detector
        self.gate = gate
        self.face_detector = faces
        self.tracker = Tracker(settings.tracker)
        self.lines = LineCounter(settings.lines)
        self.zones = ZoneMonitor(settings.zones)
        self.frames = 0
        self._last_detect_ts: float | None = None
        self._last_full_ts: float | None = None
        self._last_faces: int | None = None
        self._clock = clock
        det: Any = getattr(detector, "settings", None)
        self.budget = CloseUpBudget(
            getattr(det, "crowd_load", None),
            getattr(det, "crowd_passes", 0),
            settings.detect_fps,
            DETECT_SLACK,
        )
        self._frame_started = 0.0  # when work on the frame being processed began
        self._close_ups = 0  # close-up passes in the frame being processed
        self._close_up_s = 0.0  # ...and the time they took

    @property
    def engine(self) -> str | None:
        """What runs the person network now ("openvino", "opencv"); None for a detector without."""
        return getattr(getattr(self.detector, "engine", None), "name", None)

    def process(self, ts: float, frame: npt.NDArray[np.uint8]) -> FrameResult:
        started = self._clock()
        self._frame_started = started
        height, width = frame.shape[:2]
        index = self.frames
        self.frames += 1
        self._close_ups, self._close_up_s = 0, 0.0
        run = self._should_detect(ts, frame)
        if run:
            boxes = self._not_ignored(self._detect(ts, frame), width, height)
            self._last_detect_ts = ts
            self.tracker.update(ts, boxes, frame)
            removed = self.tracker.removed
        else:
            removed = []
        present = [t for t in self.tracker.tracks if t.confirmed and t.lost_for <= PRESENT_HOLD_S]
        seen = [t for t in self.tracker.tracks if t.matched] if run else []
        points = [
            TrackPoint(t.id, _foot(t, width, height), t.confirmed, _height(t, height)) for t in seen
        ]
        crossings = self.lines.update(ts, points, width / height)
        crossings += self.lines.forget(removed)
        present_points = [TrackPoint(t.id, _foot(t, width, height), True) for t in present]
        occupancy, visits = self.zones.update(ts, present_points)
        visits += self.zones.forget(removed)
        faces = self._faces(frame, index, run)
        busy = self._clock() - started
        self.budget.frame(ts, busy - self._close_up_s)
        return FrameResult(
            frame=index,
            ts=ts,
            people=len(present),
            zones=occupancy,
            crossings=[(c.line_id, c.direction, c.track_id, c.ts) for c in crossings],
            visits=[(v.zone_id, v.start, v.end) for v in visits],
            faces=faces,
            detected=run,
            tracks=[_norm_box(t, width, height) for t in present],
            proc_s=busy,
            close_ups=self._close_ups,
            close_ups_on=self._close_ups_on(),
            engine=self.engine,
        )

    def _not_ignored(
        self, boxes: npt.NDArray[np.floating], width: int, height: int
    ) -> npt.NDArray[np.floating]:
        """Drop the boxes whose foot point lies in one of the camera's `ignore` areas."""
        areas = self.settings.ignore
        if not areas or len(boxes) == 0:
            return boxes
        keep = [
            not any(point_in_polygon(foot_point(b, width, height), a.points) for a in areas)
            for b in boxes
        ]
        return boxes[keep]

    def _detect(self, ts: float, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.floating]:
        """Run the detector; where it can skip passes, only where something moves or is tracked.

        Every `FULL_SCAN_S` it looks everywhere anyway, so a person who walked in while the gate
        was learning, or who stands still and was never tracked, is still found.
        """
        focus = getattr(self.detector, "detect_where", None)
        motion = getattr(self.gate, "motion_boxes", None)
        full_due = self._last_full_ts is None or ts - self._last_full_ts >= FULL_SCAN_S
        found: npt.NDArray[np.floating]
        started, passes = self._clock(), self._passes()
        if focus is None or motion is None or full_due:
            self._last_full_ts = ts
            found = self.detector.detect(frame)
        else:
            found = focus(frame, self._attention(ts, motion))
        ran = self._passes_since(passes)
        self.budget.pass_cost(1 if ran is None else ran, self._clock() - started)  # unknown: one
        return self._crowds(ts, frame, found)

    def _crowds(
        self, ts: float, frame: npt.NDArray[np.uint8], found: npt.NDArray[np.floating]
    ) -> npt.NDArray[np.floating]:
        """Add a close-up look at people standing close together (detector `crowd_passes`).

        Only on spare CPU: while the camera's load with them stays under `crowd_load`
        (vision/budget.py); without them the tile passes alone must do, so a PC with more cameras
        than its CPU can give close-ups still keeps up with every one of them.
        """
        import numpy as np

        from .detect.boxes import crowd_crops, nms

        settings: Any = getattr(self.detector, "settings", None)
        limit = getattr(settings, "crowd_passes", 0)
        run = getattr(self.detector, "detect_crops", None)
        if not limit or run is None:
            return found
        near = [t.box for t in self.tracker.tracks if t.lost_for <= PRESENT_HOLD_S]
        boxes = np.concatenate([np.asarray(found)[:, :4], np.asarray(near).reshape(-1, 4)])
        crops = crowd_crops(boxes, frame.shape[1], frame.shape[0], limit)
        if not crops or not self.budget.take(ts, self._clock() - self._frame_started):
            return found
        started, passes = self._clock(), self._passes()
        more = run(frame, crops)
        self._close_up_s = self._clock() - started
        ran = self._passes_since(passes)  # a crop cut away whole by the region costs no pass
        self._close_ups = len(crops) if ran is None else ran
        return nms(np.concatenate([found, more]).astype(np.float32), settings.nms_iou)

    def _close_ups_on(self) -> bool | None:
        """On or off for now (vision/budget.py); None where this detector has no close-ups."""
        settings: Any = getattr(self.detector, "settings", None)
        if not getattr(settings, "crowd_passes", 0) or not hasattr(self.detector, "detect_crops"):
            return None
        return self.budget.limit is None or self.budget.on

    def _passes(self) -> int | None:
        """Network passes the detector has run so far, where it counts them."""
        n = getattr(self.detector, "passes", None)
        return n if isinstance(n, int) else None

    def _passes_since(self, before: int | None) -> int | None:
        now = self._passes()
        return None if now is None or before is None else now - before

    def _attention(self, ts: float, motion: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Moving regions plus every tracked person's box, grown by how far they may have walked."""
        import numpy as np

        dt = 0.0 if self._last_detect_ts is None else ts - self._last_detect_ts
        rows = [np.asarray(motion, dtype=np.float64).reshape(-1, 5)[:, :4]]
        for t in self.tracker.tracks:
            b = t.box
            speed = float(np.hypot(t.kf.x[4], t.kf.x[5]))
            m = FOCUS_MARGIN * float(b[3] - b[1]) + speed * (dt + t.lost_for)
            rows.append(np.array([[b[0] - m, b[1] - m, b[2] + m, b[3] + m]]))
        return np.concatenate(rows)

    def _should_detect(self, ts: float, frame: npt.NDArray[np.uint8]) -> bool:
        last = self._last_detect_ts
        rate = self.settings.detect_fps
        if rate and last is not None and ts - last < (1.0 - DETECT_SLACK) / rate:
            if self.gate is not None:
                self.gate.update(frame)  # keep the background model learning
            return False
        if self.gate is None:
            return True
        moving = self.gate.update(frame)
        stale = self._last_detect_ts is None or ts - self._last_detect_ts >= MAX_SKIP_S
        return bool(moving) or stale or bool(self.tracker.tracks and self._any_lost())

    def _any_lost(self) -> bool:
        """Keep detecting while a tracked person is lost, even if the gate is quiet."""
        return any(not t.matched for t in self.tracker.tracks)

    def _faces(self, frame: npt.NDArray[np.uint8], index: int, run: bool) -> int | None:
        if self.face_detector is None:
            return None
        if run and index % self.settings.face_every_n == 0:
            self._last_faces = len(self.face_detector.detect(frame))
        return self._last_faces


def _foot(t: Track, width: int, height: int) -> tuple[float, float]:
    b = t.box
    return foot_point((float(b[0]), float(b[1]), float(b[2]), float(b[3])), width, height)


def _norm_box(t: Track, width: int, height: int) -> tuple[int, float, float, float, float]:
    """Plain Python floats, rounded: what crosses the process boundary stays small and pixel-free."""
    b = t.box
    return (
        t.id,
        round(float(b[0]) / width, 4),
        round(float(b[1]) / height, 4),
        round(float(b[2]) / width, 4),
        round(float(b[3]) / height, 4),
    )


def _height(t: Track, height: int) -> float:
    return float(t.box[3] - t.box[1]) / height
