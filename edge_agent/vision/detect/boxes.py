"""Box helpers shared by the detectors: NMS, tile layout, clipping. numpy only."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float32]


def empty() -> Boxes:
    return np.zeros((0, 5), dtype=np.float32)


def nms(boxes: Boxes, iou: float) -> Boxes:
    """Greedy non-maximum suppression on `[x1, y1, x2, y2, score]` rows, best score first.

    Two boxes also merge when 80% of the smaller lies inside the larger: tiles cut people at their
    edges, and the cut half barely overlaps the whole person by IoU.
    """
    if len(boxes) == 0:
        return empty()
    order = np.argsort(-boxes[:, 4], kind="stable")
    b = boxes[order]
    area = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    keep: list[int] = []
    alive = np.ones(len(b), dtype=bool)
    for i in range(len(b)):
        if not alive[i]:
            continue
        keep.append(i)
        xx1 = np.maximum(b[i, 0], b[:, 0])
        yy1 = np.maximum(b[i, 1], b[:, 1])
        xx2 = np.minimum(b[i, 2], b[:, 2])
        yy2 = np.minimum(b[i, 3], b[:, 3])
        inter = np.maximum(xx2 - xx1, 0) * np.maximum(yy2 - yy1, 0)
        union = area[i] + area - inter
        overlap = inter / np.maximum(union, 1e-6)
        contained = inter / np.maximum(np.minimum(area, area[i]), 1e-6)
        alive &= ~((overlap > iou) | (contained > 0.8))
        alive[i] = False
    return b[keep].astype(np.float32, copy=False)


def tile_grid(
    width: int, height: int, cols: int, rows: int, overlap: float
) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles `(x1, y1, x2, y2)` covering a `width` x `height` area exactly."""
    tw = width / (cols - (cols - 1) * overlap)
    th = height / (rows - (rows - 1) * overlap)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            left, top = c * tw * (1 - overlap), r * th * (1 - overlap)
            x1, y1 = math.floor(left), math.floor(top)
            x2 = width if c == cols - 1 else min(width, math.ceil(left + tw))
            y2 = height if r == rows - 1 else min(height, math.ceil(top + th))
            tiles.append((x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)))
    return tiles
