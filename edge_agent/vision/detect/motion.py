"""MOG2 motion gate: skip the detector on frames where nothing moves.

Runs on a small colour copy of the frame (default 160 px wide), so it costs a few milliseconds and
reacts to people, not to sensor noise. The first frames only train the background, so the gate
says "run" until it has learnt one. Colour matters: on grey pixels MOG2's shadow test takes any
darker object (dark clothes on a light floor) for a shadow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_agent.settings.detection import MotionSettings

from .boxes import Boxes


class Mog2MotionGate:
    """`MotionGate` on OpenCV's MOG2 background subtractor (shadows ignored)."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        import cv2

        self._cv2: Any = cv2
        self.settings = settings or MotionSettings()
        self._mog: Any = cv2.createBackgroundSubtractorMOG2(
            history=self.settings.history,
            varThreshold=self.settings.var_threshold,
            detectShadows=True,
        )
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._frames = 0
        self._since_motion = 1 << 30
        self.motion_boxes: Boxes = np.zeros((0, 5), dtype=np.float32)
        self.moving_fraction = 0.0

    def update(self, frame: np.ndarray) -> bool:
        """Feed one frame; True when the detector should run on it."""
        cv2 = self._cv2
        h, w = frame.shape[:2]
        scale = self.settings.width / w
        small = cv2.resize(
            frame, (self.settings.width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        mask = self._mog.apply(small)
        # MOG2 marks shadows 127 and foreground 255; shadows alone are not motion.
        _, fg = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        self._frames += 1
        self.moving_fraction = float(np.count_nonzero(fg)) / fg.size
        self.motion_boxes = self._regions(fg, 1.0 / scale)
        moving = self.moving_fraction >= self.settings.min_area
        self._since_motion = 0 if moving else self._since_motion + 1
        return (
            self._frames <= self.settings.warmup_frames
            or self._since_motion <= self.settings.hold_frames
        )

    def _regions(self, fg: np.ndarray, scale: float) -> Boxes:
        cv2 = self._cv2
        n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        min_px = max(2.0, self.settings.min_area * fg.size / 4)
        rows = [
            (x * scale, y * scale, (x + bw) * scale, (y + bh) * scale, 1.0)
            for x, y, bw, bh, area in stats[1:n].tolist()
            if area >= min_px
        ]
        return np.asarray(rows, dtype=np.float32).reshape(-1, 5)
