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


SEAM_TOL = 0.03  # a box edge this close to a crop's inner edge (share of the crop) was cut there
SEAM_MATCH = 0.6  # two cut halves are one person when their spans along the seam overlap this much


def join_cut_halves(boxes: Boxes, crops: np.ndarray) -> Boxes:
    """Join the halves of people cut by the seam between two tiles into one box each.

    `crops[k]` is the rectangle the network saw for `boxes[k]`. A person wider than the tiles'
    overlap is whole in neither tile: each finds only its own half, and the halves overlap too
    little for NMS, so one person would become two with feet apart. A box whose edge lies on its
    crop's inner edge (one that is not the edge of the searched area) is a cut half; it joins the
    cut half on the other side of the seam when the two overlap across it and span the same rows
    (or columns, for a seam between rows). The joined box keeps the better score.
    """
    if len(boxes) < 2:
        return boxes
    out = boxes.astype(np.float32, copy=True)
    rects = np.asarray(crops, dtype=np.float32)
    for axis in (0, 1):
        out, rects = _join_along(out, rects, axis)
    return out


def _join_along(boxes: Boxes, rects: np.ndarray, axis: int) -> tuple[Boxes, np.ndarray]:
    lo, hi = axis, axis + 2
    other_lo, other_hi = 1 - axis, 3 - axis
    outer_lo, outer_hi = rects[:, lo].min(), rects[:, hi].max()
    tol = SEAM_TOL * (rects[:, hi] - rects[:, lo])
    cut_hi = (rects[:, hi] < outer_hi) & (boxes[:, hi] >= rects[:, hi] - tol)
    cut_lo = (rects[:, lo] > outer_lo) & (boxes[:, lo] <= rects[:, lo] + tol)
    pairs: list[tuple[float, int, int]] = []
    for i in np.flatnonzero(cut_hi).tolist():
        for j in np.flatnonzero(cut_lo).tolist():
            a, b = boxes[i], boxes[j]
            if np.array_equal(rects[i], rects[j]):
                continue
            # a is the near half, b the far one; they must overlap across the seam
            if not (a[lo] < b[lo] < a[hi] < b[hi]):
                continue
            inter = min(a[other_hi], b[other_hi]) - max(a[other_lo], b[other_lo])
            union = max(a[other_hi], b[other_hi]) - min(a[other_lo], b[other_lo])
            match = inter / max(union, 1e-6)
            if match >= SEAM_MATCH:
                pairs.append((float(match), i, j))
    if not pairs:
        return boxes, rects
    used: set[int] = set()
    joined: list[np.ndarray] = []
    for _, i, j in sorted(pairs, reverse=True):
        if i in used or j in used:
            continue
        used |= {i, j}
        a, b = boxes[i], boxes[j]
        # x1, y1 the smaller; x2, y2 and the score the larger
        joined.append(np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])]))
    keep = np.array([k not in used for k in range(len(boxes))])
    whole = np.array([0.0, 0.0, 0.0, 0.0], dtype=np.float32)  # a joined box belongs to no crop
    whole[lo], whole[hi] = outer_lo, outer_hi
    whole[other_lo], whole[other_hi] = rects[:, other_lo].min(), rects[:, other_hi].max()
    new_boxes = np.vstack([boxes[keep], np.asarray(joined, dtype=np.float32)])
    new_rects = np.vstack([rects[keep], np.tile(whole, (len(joined), 1))])
    return new_boxes.astype(np.float32, copy=False), new_rects


def crowd_crops(
    boxes: np.ndarray, width: int, height: int, limit: int, pad: float = 0.3
) -> list[tuple[int, int, int, int]]:
    """Crops around people who stand close together, for a closer second look.

    Someone half hidden behind or beside another person is what the tile passes miss most: at
    the tiles' scale the pair reads as one. A crop around the pair, padded by `pad` of its height
    and widened to at least square, gives the network two to three times the pixels per person.
    `boxes` (xyxy pixels) pair up when they overlap in rows and come within a fifth of a box
    width of each other. The pipeline hands in this run's detections and the tracks, so a
    detection and its own track pair up too: their crop is a close-up of that person and of
    whoever stands behind them. (Pairing only distinct people was measured, and found fewer.)
    The crops of the `limit` tallest pairs are returned, tallest first, leaving out a crop that
    lies inside one already chosen.
    """
    people = np.asarray(boxes, dtype=np.float64)
    if people.ndim != 2 or len(people) < 2:
        return []
    found: list[tuple[float, tuple[int, int, int, int]]] = []
    for i in range(len(people)):
        for j in range(i + 1, len(people)):
            p, q = people[i], people[j]
            gap_x = min(p[2], q[2]) - max(p[0], q[0])
            gap_y = min(p[3], q[3]) - max(p[1], q[1])
            if gap_y <= 0 or gap_x <= -0.2 * min(p[2] - p[0], q[2] - q[0]):
                continue
            x1, y1 = min(p[0], q[0]), min(p[1], q[1])
            x2, y2 = max(p[2], q[2]), max(p[3], q[3])
            h = float(y2 - y1)
            half, cx = max(float(x2 - x1), h) / 2 + pad * h, float(x1 + x2) / 2
            crop = (
                int(max(0.0, cx - half)),
                int(max(0.0, y1 - pad * h)),
                int(min(float(width), cx + half)),
                int(min(float(height), y2 + pad * h)),
            )
            if crop[2] - crop[0] >= 2 and crop[3] - crop[1] >= 2:
                found.append((h, crop))
    found.sort(key=lambda f: -f[0])
    out: list[tuple[int, int, int, int]] = []
    for _h, c in found:
        if any(c[0] >= o[0] and c[1] >= o[1] and c[2] <= o[2] and c[3] <= o[3] for o in out):
            continue
        out.append(c)
        if len(out) >= limit:
            break
    return out
