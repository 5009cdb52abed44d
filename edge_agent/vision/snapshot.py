"""`edge-agent camera snapshot`: one annotated frame so a field engineer can check the setup.

It draws every counting line with an arrow pointing to its `in` side, the zones, the `ignore`
areas (grey), the latest detections (thin) and confirmed tracks with their ids. The pipeline first
runs over a short warm-up so the tracker has confirmed the people in view. The PNG is written only where the
operator asks (an explicit, local action; see docs/privacy.md): the daemon never does this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.settings.cameras import CameraSettings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .pipeline import FrameResult, Pipeline

LINE = (0, 215, 255)  # BGR amber
ZONE = (255, 160, 0)
QUEUE = (200, 80, 255)
TRACK = (60, 220, 60)
DET = (200, 200, 200)
IGNORED = (90, 90, 90)  # the area, shaded dark: nothing there is counted
IGNORED_TEXT = (220, 220, 220)  # its label, light on the dark outline every label has
WHITE = (255, 255, 255)


class SnapshotError(Exception):
    """The camera gave no frame to draw on (reason says why)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Snapshot:
    path: Path
    width: int
    height: int
    detections: int
    tracks: list[int]
    people: int
    zones: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size": [self.width, self.height],
            "detections": self.detections,
            "tracks": self.tracks,
            "people": self.people,
            "zones": self.zones,
        }


class _Recording:
    """Wraps a detector to remember the boxes of its latest run for drawing.

    Everything else (its settings, its pass count) is the detector's own, and it offers focused
    detection and close-ups exactly when the detector does, recording what they find too.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: Any = None

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (a copy being made): nothing to pass through
            raise AttributeError(name)
        found = getattr(self.inner, name)
        recorded = {"detect_where": self._detect_where, "detect_crops": self._detect_crops}
        return recorded.get(name, found)

    def detect(self, frame_bgr: Any) -> Any:
        self.last = self.inner.detect(frame_bgr)
        return self.last

    def _detect_where(self, frame_bgr: Any, boxes: Any) -> Any:
        self.last = self.inner.detect_where(frame_bgr, boxes)
        return self.last

    def _detect_crops(self, frame_bgr: Any, crops: Any) -> Any:
        import numpy as np

        from .detect.boxes import nms

        more = self.inner.detect_crops(frame_bgr, crops)
        if len(more):
            both = more if self.last is None else np.concatenate([self.last, more])
            self.last = nms(both.astype(np.float32), self.inner.settings.nms_iou)
        return more


def take_snapshot(
    settings: CameraSettings,
    models_dir: Path,
    out: Path,
    *,
    warmup_frames: int = 20,
    pipeline: Pipeline | None = None,
) -> Snapshot:
    """Run the pipeline over `warmup_frames` frames from the camera and draw the last one.

    Close-ups run on every detector run (`crowd_load: null`) unless the camera has none
    (`crowd_passes: 0`): a few seconds of frames are too few to judge the PC's spare CPU, and
    the picture should show whom they find. Whether the running camera has them on is in
    `edge-agent status`.
    """
    from .worker import build_pipeline, open_source

    pipe = pipeline or build_pipeline(
        settings.model_copy(
            update={"motion_gate": False, "detector": {**settings.detector, "crowd_load": None}}
        ),
        models_dir,
    )
    recorder = _Recording(pipe.detector)
    pipe.detector = recorder
    source = open_source(settings, loop=False)
    frame = None
    result = None
    try:
        for _ in range(max(1, warmup_frames) * 5):
            got = source.read()
            if got is None:
                if frame is not None or source.reason != "ok":
                    break
                continue
            ts, frame = got
            result = pipe.process(ts, frame)
            if result.frame + 1 >= warmup_frames:
                break
        reason = source.reason
    finally:
        source.close()
    if frame is None or result is None:
        raise SnapshotError(reason, f"no frame from {settings.source} (reason: {reason})")
    image = render(frame, settings, result, recorder.last)
    _write_png(out, image)
    h, w = frame.shape[:2]
    n_det = 0 if recorder.last is None else len(recorder.last)
    return Snapshot(out, w, h, n_det, [t[0] for t in result.tracks], result.people, result.zones)


def render(
    frame: npt.NDArray[np.uint8],
    settings: CameraSettings,
    result: FrameResult,
    detections: npt.NDArray[np.float32] | None = None,
) -> npt.NDArray[np.uint8]:
    """Draw lines (with `in` arrows), zones, detections and tracks on a copy of `frame`."""
    import cv2
    import numpy as np

    img: Any = frame.copy()
    h, w = img.shape[:2]
    scale = max(w, h) / 640
    thick = max(1, round(2 * scale))
    font = 0.45 * scale
    overlay = img.copy()
    for z in settings.zones:
        pts = np.array([[round(x * w), round(y * h)] for x, y in z.points], np.int32)
        colour = QUEUE if z.kind == "queue" else ZONE
        cv2.fillPoly(overlay, [pts], colour)
        cv2.polylines(img, [pts], True, colour, thick, cv2.LINE_AA)
    for area in settings.ignore:
        pts = np.array([[round(x * w), round(y * h)] for x, y in area.points], np.int32)
        cv2.fillPoly(overlay, [pts], IGNORED)
        cv2.polylines(img, [pts], True, IGNORED, thick, cv2.LINE_AA)
    img = cv2.addWeighted(overlay, 0.2, img, 0.8, 0)
    line_labels: list[tuple[str, tuple[int, int], bool]] = []
    for line in settings.lines:
        (ax, ay), (bx, by) = line.points
        a = (round(ax * w), round(ay * h))
        b = (round(bx * w), round(by * h))
        cv2.line(img, a, b, LINE, thick + 1, cv2.LINE_AA)
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = max((dx * dx + dy * dy) ** 0.5, 1.0)
        nx, ny = -dy / length, dx / length  # towards cross(B-A, P-A) > 0: the `in` side
        mid = ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2)
        tip = (round(mid[0] + nx * 55 * scale), round(mid[1] + ny * 55 * scale))
        cv2.arrowedLine(img, mid, tip, LINE, thick + 1, cv2.LINE_AA, tipLength=0.3)
        in_at = (tip[0] + round(nx * 8 * scale) - 6, tip[1] + round(ny * 12 * scale) + 4)
        line_labels += [("in", in_at, False), (line.id, (b[0] + 4, b[1] - 4), True)]
    if detections is not None:
        for x1, y1, x2, y2, _s in detections:  # thin beside the tracks, yet seen at 1080p
            cv2.rectangle(img, (int(x1), int(y1)), (int(x2), int(y2)), DET, max(1, round(scale)))
    track_labels: list[tuple[str, tuple[int, int]]] = []
    for tid, x1, y1, x2, y2 in result.tracks:
        p1, p2 = (round(x1 * w), round(y1 * h)), (round(x2 * w), round(y2 * h))
        cv2.rectangle(img, p1, p2, TRACK, thick)
        cv2.circle(img, ((p1[0] + p2[0]) // 2, p2[1]), thick + 1, TRACK, -1)
        track_labels.append((f"#{tid}", (p1[0], p1[1] - 3)))
    # Labels go on last, over every shape, placed in order of importance: the title, the track
    # ids, the lines' `in` (where its arrow points), line names, zones, ignored areas. Each but
    # the title and `in` steps up or down off the labels placed before it: none hides another.
    labels = _Labels(img)
    labels.add(f"{settings.id}  people {result.people}", (6, int(18 * scale)), font * 1.2, WHITE)
    for text, at in track_labels:
        labels.add(text, at, font, TRACK, movable=True)  # two people side by side: two ids
    for text, at, movable in line_labels:
        labels.add(text, at, font, LINE, movable)
    for z in settings.zones:
        x, y = z.points[0]
        text = f"{z.id} ({z.kind}): {result.zones.get(z.id, 0)}"
        colour = QUEUE if z.kind == "queue" else ZONE
        labels.add(text, (round(x * w) + 4, round(y * h) + int(16 * scale)), font, colour, True)
    for area in settings.ignore:
        x, y = area.points[0]
        text = f"ignored: {area.note}" if area.note else "ignored"
        labels.add(
            text, (round(x * w) + 4, round(y * h) + int(16 * scale)), font, IGNORED_TEXT, True
        )
    labels.draw()
    out: npt.NDArray[np.uint8] = np.asarray(img, dtype=np.uint8)
    return out


class _Labels:
    """Text for the snapshot, kept on the image; a movable label steps up or down, a line height
    at a time, off the labels placed before it, so none hides another."""

    STEPS = (0, 1, -1, 2, -2, 3, -3)

    def __init__(self, img: Any) -> None:
        self.img = img
        self.placed: list[tuple[str, tuple[int, int], float, tuple[int, int, int]]] = []
        self.boxes: list[tuple[int, int, int, int]] = []

    def add(
        self,
        text: str,
        org: tuple[int, int],
        scale: float,
        colour: tuple[int, int, int],
        movable: bool = False,
    ) -> None:
        import cv2

        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, _stroke(scale))
        h, w = self.img.shape[:2]

        def on_image(x: int, y: int) -> tuple[int, int]:
            return min(max(x, 2), w - tw - 2), min(max(y, th + 4), h - 4)

        box = (0, 0, 0, 0)
        for step in self.STEPS if movable else (0,):
            x, y = on_image(org[0], org[1] + round(step * (th + 6)))
            box = (x - 2, y - th - 3, x + tw + 2, y + 3)
            if not any(_overlap(box, other) for other in self.boxes):
                break
        else:
            x, y = on_image(*org)  # nowhere free nearby: where it belongs
            box = (x - 2, y - th - 3, x + tw + 2, y + 3)
        self.boxes.append(box)
        self.placed.append((text, (box[0] + 2, box[3] - 3), scale, colour))

    def draw(self) -> None:
        import cv2

        for text, org, scale, colour in reversed(self.placed):  # the most important on top
            stroke = _stroke(scale)
            for ink, width in (((0, 0, 0), stroke + 2), (colour, stroke)):  # outline, then letters
                cv2.putText(
                    self.img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, width, cv2.LINE_AA
                )


def _stroke(font_scale: float) -> int:
    """Letters as thick as the picture is large: a 1-pixel stroke on a 1080p picture reads as
    black outline with a thread of colour inside."""
    return max(1, round(font_scale / 0.45))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _write_png(out: Path, image: Any) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise SnapshotError("decode_error", "could not encode the snapshot as PNG")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.tobytes())


class DebugFrameSaver:
    """Annotated frames for debugging, only when `debug.save_frames` is set; pruned as it goes.

    At most one frame every `every_s` seconds, files older than `retention_minutes` or beyond
    `max_files` are deleted on each save, so the folder never grows without bound.
    """

    def __init__(self, settings: CameraSettings) -> None:
        dbg = settings.debug
        if not dbg.save_frames or not dbg.frames_dir:
            raise ValueError("debug.save_frames is off")
        self.settings = settings
        self.dir = Path(dbg.frames_dir)
        self.every_s = dbg.every_s
        self._last: float | None = None

    def maybe_save(self, frame: npt.NDArray[np.uint8], result: FrameResult) -> Path | None:
        if self._last is not None and result.ts - self._last < self.every_s:
            return None
        self._last = result.ts
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{self.settings.id}-{result.ts:.1f}.png"
        _write_png(path, render(frame, self.settings, result))
        self._prune(time.time())
        return path

    def _prune(self, now: float) -> None:
        dbg = self.settings.debug
        files = sorted(self.dir.glob(f"{self.settings.id}-*.png"), key=lambda p: p.stat().st_mtime)
        for i, p in enumerate(files):
            too_old = now - p.stat().st_mtime > dbg.retention_minutes * 60
            if too_old or len(files) - i > dbg.max_files:
                p.unlink(missing_ok=True)
