"""SSDLite-MobileNetV2 person detector on cv2.dnn, with optional tiling for small, far people.

At 300x300 over a whole 768x576 frame a person 60 px tall shrinks to ~30 px, below what SSDLite
finds reliably. Overlapping tiles give each person more input pixels; one extra full-region pass
keeps people who are too big for a tile (an eye-level shop-front camera). All passes run as one
batch and are merged with NMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .boxes import Boxes, empty, nms, tile_grid
from .settings import DetectorSettings


class SsdLiteDetector:
    """`Detector` for the pinned SSDLite person graph; build it with `build_person_detector`."""

    def __init__(self, settings: DetectorSettings, weights: Path, graph: Path) -> None:
        import cv2

        if settings.threads:
            cv2.setNumThreads(settings.threads)
        self._cv2: Any = cv2
        self._settings = settings
        self._net: Any = cv2.dnn.readNetFromTensorflow(str(weights), str(graph))

    @property
    def settings(self) -> DetectorSettings:
        return self._settings

    def crops(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """Pixel rectangles the network sees for a frame of this size (region, then tiles)."""
        s = self._settings
        rx1, ry1 = round(s.region.x1 * width), round(s.region.y1 * height)
        rx2, ry2 = round(s.region.x2 * width), round(s.region.y2 * height)
        cols, rows = s.tiles
        out: list[tuple[int, int, int, int]] = []
        if s.full_frame or (cols, rows) == (1, 1):
            out.append((rx1, ry1, rx2, ry2))
        if (cols, rows) != (1, 1):
            grid = tile_grid(rx2 - rx1, ry2 - ry1, cols, rows, s.tile_overlap)
            out += [(rx1 + x1, ry1 + y1, rx1 + x2, ry1 + y2) for x1, y1, x2, y2 in grid]
        return out

    def detect(self, frame_bgr: np.ndarray) -> Boxes:
        """Person boxes `[x1, y1, x2, y2, score]` in the frame's pixels, score-sorted."""
        if (
            frame_bgr.ndim != 3
            or frame_bgr.shape[2] != 3
            or frame_bgr.shape[0] < 2
            or frame_bgr.shape[1] < 2
        ):
            raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame_bgr.shape}")
        s = self._settings
        h, w = frame_bgr.shape[:2]
        crops = self.crops(w, h)
        images = [frame_bgr[y1:y2, x1:x2] for x1, y1, x2, y2 in crops]
        size = (s.input_size, s.input_size)
        blob = self._cv2.dnn.blobFromImages(images, 1.0, size, swapRB=True, crop=False)
        self._net.setInput(blob)
        raw = np.asarray(self._net.forward(), dtype=np.float32).reshape(-1, 7)
        raw = raw[raw[:, 2] >= s.score_threshold]
        if len(raw) == 0:
            return empty()
        rects = np.asarray(crops, dtype=np.float32)[raw[:, 0].astype(np.intp)]
        cw = rects[:, 2] - rects[:, 0]
        ch = rects[:, 3] - rects[:, 1]
        boxes = np.empty((len(raw), 5), dtype=np.float32)
        boxes[:, 0] = rects[:, 0] + np.clip(raw[:, 3], 0, 1) * cw
        boxes[:, 1] = rects[:, 1] + np.clip(raw[:, 4], 0, 1) * ch
        boxes[:, 2] = rects[:, 0] + np.clip(raw[:, 5], 0, 1) * cw
        boxes[:, 3] = rects[:, 1] + np.clip(raw[:, 6], 0, 1) * ch
        boxes[:, 4] = raw[:, 2]
        big = ((boxes[:, 2] - boxes[:, 0]) >= s.min_box_px) & (
            (boxes[:, 3] - boxes[:, 1]) >= s.min_box_px
        )
        return nms(boxes[big], s.nms_iou)
