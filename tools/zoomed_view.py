"""A closer camera, made from a wide one: crop a window of a video, scale it back up, move the truth.

vtest's people are 15-25 % of the frame tall; a camera over a branch door or at eye level sees
people two to four times bigger. With no such footage with ground truth here, `vision_eval.py
--view X1,Y1,X2,Y2` replays the window (fractions of the frame) scaled to the full frame size, with
the ground truth moved the same way, to check that the detector and tracker settings hold when
people are big and walk in and out of the picture. It checks scale only: the camera's angle and the
occlusions stay vtest's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

View = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Window:
    """The window in source pixels, and the size it is scaled to."""

    x1: int
    y1: int
    x2: int
    y2: int
    size: tuple[int, int]

    @classmethod
    def of(cls, view: View, size: tuple[int, int]) -> Window:
        w, h = size
        x1, y1, x2, y2 = view
        if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
            raise SystemExit(f"--view needs 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1, got {view}")
        return cls(round(x1 * w), round(y1 * h), round(x2 * w), round(y2 * h), size)

    @property
    def scale(self) -> tuple[float, float]:
        return self.size[0] / (self.x2 - self.x1), self.size[1] / (self.y2 - self.y1)


def parse_view(text: str) -> View:
    parts = [float(v) for v in text.split(",")]
    if len(parts) != 4:
        raise SystemExit(f"--view takes X1,Y1,X2,Y2 (fractions of the frame), got {text!r}")
    return (parts[0], parts[1], parts[2], parts[3])


def write_video(src: Path, out: Path, win: Window) -> Path:
    """Every frame of `src`, cropped to the window and scaled back to full size (MJPEG, same fps)."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, win.size)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            crop = frame[win.y1 : win.y2, win.x1 : win.x2]
            writer.write(cv2.resize(crop, win.size, interpolation=cv2.INTER_CUBIC))
    finally:
        cap.release()
        writer.release()
    return out


def move_truth(boxes: dict[int, Any], win: Window) -> dict[int, Any]:
    """Boxes (pixels) in the window's picture; the 5th column is the share of each in the picture.

    Foot points are not clipped: the line truth follows people off the picture too, which is
    why `vision_eval` draws the view's lines away from the edges.
    """
    sx, sy = win.scale
    out: dict[int, Any] = {}
    for k, b in boxes.items():
        m = np.asarray(b, dtype=np.float64).copy()
        m[:, [0, 2]] = (m[:, [0, 2]] - win.x1) * sx
        m[:, [1, 3]] = (m[:, [1, 3]] - win.y1) * sy
        vis_w = np.clip(np.minimum(m[:, 2], win.size[0]) - np.maximum(m[:, 0], 0), 0, None)
        vis_h = np.clip(np.minimum(m[:, 3], win.size[1]) - np.maximum(m[:, 1], 0), 0, None)
        area = (m[:, 2] - m[:, 0]) * (m[:, 3] - m[:, 1])
        m[:, 4] = vis_w * vis_h / np.maximum(area, 1e-9)
        out[k] = m.astype(np.float32)
    return out
