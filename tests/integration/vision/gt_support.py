"""Test-only helpers around the MOT15 ground truth of vtest (CC BY-NC-SA: tests only, never shipped)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.support.media import GT_PATH, VTEST, require

VTEST_W, VTEST_H = 768, 576


def gt_boxes() -> dict[int, npt.NDArray[np.float32]]:
    """Frame index (0-based) -> (N, 5) boxes [x1, y1, x2, y2, 1.0] in vtest pixels."""
    rows: dict[int, list[list[float]]] = defaultdict(list)
    for line in GT_PATH.read_text().splitlines():
        f, _i, x, y, w, h = line.split(",")[:6]
        x1, y1 = float(x), float(y)
        rows[int(f) - 1].append([x1, y1, x1 + float(w), y1 + float(h), 1.0])
    return {f: np.array(b, dtype=np.float32) for f, b in rows.items()}


def gt_tracks() -> dict[int, list[tuple[int, tuple[float, float]]]]:
    """Frame index -> [(person id, normalised foot point)]."""
    out: dict[int, list[tuple[int, tuple[float, float]]]] = defaultdict(list)
    for line in GT_PATH.read_text().splitlines():
        f, i, x, y, w, h = line.split(",")[:6]
        foot = ((float(x) + float(w) / 2) / VTEST_W, (float(y) + float(h)) / VTEST_H)
        out[int(f) - 1].append((int(i), foot))
    return out


class GTDetector:
    """A perfect detector: returns the ground-truth boxes of the n-th frame on its n-th call.

    Scales the boxes to the frame it is given, so it also works on resized frames.
    """

    def __init__(self, drop_every: int = 0) -> None:
        self._boxes = gt_boxes()
        self._n = 0
        self._drop_every = drop_every

    def detect(self, frame_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        boxes = self._boxes.get(self._n, np.zeros((0, 5), np.float32)).copy()
        self._n += 1
        if self._drop_every and len(boxes):
            keep = np.arange(len(boxes)) % self._drop_every != self._n % self._drop_every
            boxes = boxes[keep]
        h, w = frame_bgr.shape[:2]
        boxes[:, [0, 2]] *= w / VTEST_W
        boxes[:, [1, 3]] *= h / VTEST_H
        return boxes


def vtest_video() -> Path:
    """vtest.avi from the project's media cache (`make media`); fails with the fix when absent."""
    require(VTEST, GT_PATH)
    return VTEST


# --- synthetic scenes: real video files with bright "people" a simple blob detector finds -------


class BlobDetector:
    """Finds bright upright rectangles on a dark frame: a real detector for synthetic videos.

    Works on decoded pixels, so a test through it exercises capture, resize and the pipeline.
    """

    def detect(self, frame_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        import cv2

        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(gray, 128, 255, cv2.THRESH_BINARY)
        n, _labels, stats, _c = cv2.connectedComponentsWithStats(mask)
        out = [[x, y, x + w, y + h, 0.9] for x, y, w, h, area in stats[1:n] if area >= 100]
        return np.array(out, dtype=np.float32).reshape(-1, 5)


def walkers_video(
    path: Path,
    walkers: list[tuple[float, float, float, float]],
    frames: int = 40,
    size: tuple[int, int] = (320, 240),
    fps: float = 10.0,
) -> Path:
    """Write an MJPEG AVI of bright 'people' walking in straight lines.

    Each walker is (x0, y_feet, x1, y_feet_end) in normalised coordinates, covered over `frames`.
    """
    import cv2

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    pw, ph = int(0.06 * w), int(0.25 * h)
    for i in range(frames):
        img = np.full((h, w, 3), 30, np.uint8)
        s = i / max(frames - 1, 1)
        for x0, y0, x1, y1 in walkers:
            cx, fy = (x0 + (x1 - x0) * s) * w, (y0 + (y1 - y0) * s) * h
            cv2.rectangle(
                img,
                (int(cx - pw / 2), int(fy - ph)),
                (int(cx + pw / 2), int(fy)),
                (230, 230, 230),
                -1,
            )
        writer.write(img)
    writer.release()
    return path


def pictures_of(video: Path, folder: Path, broken: int | None = None) -> Path:
    """`video` as a folder of numbered PNGs (001.png...), as a recorder exports a clip; picture
    number `broken` is written as bytes that are no picture (cut short by a full disk)."""
    import cv2

    folder.mkdir()
    cap = cv2.VideoCapture(str(video))
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        i += 1
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    cap.release()
    if broken is not None:
        (folder / f"{broken:03d}.png").write_bytes(b"cut short by a full disk")
    return folder


def blob_pipeline(settings, models_dir):  # type: ignore[no-untyped-def]
    """Worker factory (`module:callable`) used by the service tests: no model files needed."""
    from edge_agent.vision.pipeline import Pipeline

    return Pipeline(settings, BlobDetector())


def stuck_pipeline(settings, models_dir):  # type: ignore[no-untyped-def]
    """Worker factory whose pipeline hangs for good after 10 frames, like a wedged decoder."""
    import time

    from edge_agent.vision.pipeline import Pipeline

    class Stuck(Pipeline):
        def process(self, ts, frame):  # type: ignore[no-untyped-def]
            if self.frames >= 10:
                time.sleep(3600)
            return super().process(ts, frame)

    return Stuck(settings, BlobDetector())
