"""SSDLite-MobileNetV2 person detector on cv2.dnn, with optional tiling for small, far people.

At 300x300 over a whole 768x576 frame a person 60 px tall shrinks to ~30 px, below what SSDLite
finds reliably. Overlapping tiles give each person more input pixels; one extra full-region pass
keeps people who are too big for a tile (an eye-level shop-front camera). All passes run as one
batch; the halves of a person cut by a tile seam are joined, then everything is merged with NMS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_agent.settings.detection import DetectorSettings

from .boxes import Boxes, empty, join_cut_halves, nms, tile_grid
from .engines import Engine, build_engine

CONTAINED = 1.0  # a box this much inside one crop is found by that crop alone
# The network answers a (nearly) black picture, a camera at night with the lights off or a covered
# lens, with one box over its whole input at a score of 0.2-0.3: within reach of starting a track,
# a person in the lobby all night. No countable person fills a crop this much both ways (their feet
# would be at its edge, their width that of a crowd), so such boxes are dropped.
FILLS_CROP = 0.9


class SsdLiteDetector:
    """`Detector` for the pinned SSDLite person graph; build it with `build_person_detector`."""

    def __init__(self, settings: DetectorSettings, weights: Path, graph: Path) -> None:
        self._settings = settings
        self.engine: Engine = build_engine(settings.runtime, weights, graph, settings.threads)
        self.passes = 0  # network passes run so far (one per crop): what focusing saves

    @property
    def settings(self) -> DetectorSettings:
        return self._settings

    def region(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The `region` setting in pixels of a frame of this size."""
        r = self._settings.region
        return round(r.x1 * width), round(r.y1 * height), round(r.x2 * width), round(r.y2 * height)

    def crops(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """Pixel rectangles the network sees for a frame of this size (region, then tiles)."""
        s = self._settings
        rx1, ry1, rx2, ry2 = self.region(width, height)
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
        self._check(frame_bgr)
        h, w = frame_bgr.shape[:2]
        return self._run(frame_bgr, self.crops(w, h))

    def detect_where(self, frame_bgr: np.ndarray, boxes: np.ndarray) -> Boxes:
        """`detect`, skipping the passes whose crop touches none of `boxes` (xyxy pixels).

        The pipeline hands in where something moves or a tracked person is expected: a still part
        of the picture with nobody in it costs no network pass. Nothing to look at, nothing run.
        """
        self._check(frame_bgr)
        h, w = frame_bgr.shape[:2]
        crops = self.crops(w, h)
        if self._settings.focus:
            crops = needed_crops(crops, boxes)
        return self._run(frame_bgr, crops) if crops else empty()

    def detect_crops(self, frame_bgr: np.ndarray, crops: list[tuple[int, int, int, int]]) -> Boxes:
        """`detect` on the given crops (xyxy pixels) only: one network pass each.

        Each crop is cut to the `region` first, so a close-up never looks where the tiles may not
        (a mirror, the street through the window); a crop with nothing left inside is not run.
        """
        self._check(frame_bgr)
        rx1, ry1, rx2, ry2 = self.region(frame_bgr.shape[1], frame_bgr.shape[0])
        inside = [
            (max(x1, rx1), max(y1, ry1), min(x2, rx2), min(y2, ry2)) for x1, y1, x2, y2 in crops
        ]
        inside = [c for c in inside if c[2] - c[0] >= 2 and c[3] - c[1] >= 2]
        return self._run(frame_bgr, inside) if inside else empty()

    @staticmethod
    def _check(frame_bgr: np.ndarray) -> None:
        if (
            frame_bgr.ndim != 3
            or frame_bgr.shape[2] != 3
            or frame_bgr.shape[0] < 2
            or frame_bgr.shape[1] < 2
        ):
            raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame_bgr.shape}")

    def _run(self, frame_bgr: np.ndarray, crops: list[tuple[int, int, int, int]]) -> Boxes:
        s = self._settings
        self.passes += len(crops)
        raw = self.engine.forward(
            [frame_bgr[y1:y2, x1:x2] for x1, y1, x2, y2 in crops], s.score_threshold
        )
        fills = ((raw[:, 5] - raw[:, 3]) >= FILLS_CROP) & ((raw[:, 6] - raw[:, 4]) >= FILLS_CROP)
        raw = raw[(raw[:, 2] >= s.score_threshold) & ~fills]
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
        boxes = join_cut_halves(boxes, rects)
        big = ((boxes[:, 2] - boxes[:, 0]) >= s.min_box_px) & (
            (boxes[:, 3] - boxes[:, 1]) >= s.min_box_px
        )
        return nms(boxes[big], s.nms_iou)


def needed_crops(
    crops: list[tuple[int, int, int, int]], boxes: np.ndarray
) -> list[tuple[int, int, int, int]]:
    """The crops that must run so every box is seen whole by at least one pass, in crop order.

    Tiles overlap so that a person inside the overlap is whole in one of them: a box that lies
    (almost) entirely in a crop needs only that crop; one that straddles tiles needs every crop it
    touches, as the full-frame sweep would have given it.
    """
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] < 4 or len(b) == 0 or not crops:
        return []
    c = np.asarray(crops, dtype=np.float64)
    lo, hi = c[:, :2].min(axis=0), c[:, 2:].max(axis=0)
    b = np.clip(b[:, :4], np.tile(lo, 2), np.tile(hi, 2))  # what lies off the picture is not seen
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1.0)  # a point or a line still asks for its tile
    ix = np.clip(
        np.minimum(b[:, None, 2], c[None, :, 2]) - np.maximum(b[:, None, 0], c[None, :, 0]), 0, None
    )
    iy = np.clip(
        np.minimum(b[:, None, 3], c[None, :, 3]) - np.maximum(b[:, None, 1], c[None, :, 1]), 0, None
    )
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    inside = ix * iy / area[:, None]  # share of each box inside each crop
    chosen = np.zeros(len(c), dtype=bool)
    for row in inside:
        if not np.any(row > 0) or np.any(row[chosen] >= CONTAINED):
            continue
        best = int(np.argmax(row))
        if row[best] >= CONTAINED:
            chosen[best] = True
        else:
            chosen |= row > 0
    return [crop for crop, keep in zip(crops, chosen, strict=True) if keep]
