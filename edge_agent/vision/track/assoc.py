"""Matching tracks to detections: IoU first, centre distance for small or fast-moving people.

Small far-away people often share little IoU between frames at 10 fps, so a pair may also match
when the centres are within `max_dist` box heights. The cost keeps IoU matches ahead of distance
matches, and the assignment is greedy by cost, which for the handful of people one camera sees
gives the same answer as an optimal solver without needing SciPy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
INF = np.inf


def iou_matrix(a: Array, b: Array) -> Array:
    """Pairwise IoU of boxes a (N, >=4) and b (M, >=4) in xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    out: Array = inter / np.maximum(union, 1e-9)
    return out


def cost_matrix(tracks: Array, dets: Array, min_iou: float, max_dist: Array) -> Array:
    """Cost in [0, 1) for IoU matches, [1, 2) for distance matches, inf for no match.

    `max_dist` is per track (box heights), so a track lost for a while may search further.
    """
    n, m = len(tracks), len(dets)
    if n == 0 or m == 0:
        return np.full((n, m), INF)
    iou = iou_matrix(tracks, dets)
    tc = (tracks[:, 0:2] + tracks[:, 2:4]) / 2
    dc = (dets[:, 0:2] + dets[:, 2:4]) / 2
    th = tracks[:, 3] - tracks[:, 1]
    dh = dets[:, 3] - dets[:, 1]
    mean_h = np.maximum((th[:, None] + dh[None, :]) / 2, 1.0)
    dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=2) / mean_h
    ratio = np.maximum(th[:, None], dh[None, :]) / np.maximum(
        np.minimum(th[:, None], dh[None, :]), 1.0
    )
    cost = np.full((n, m), INF)
    by_dist = (dist <= max_dist[:, None]) & (ratio < 1.6)
    cost[by_dist] = 1.0 + dist[by_dist] / (1.0 + dist[by_dist])
    by_iou = (iou >= min_iou) & (ratio < 2.0)
    cost[by_iou] = 1.0 - iou[by_iou]
    return cost


def greedy_assign(cost: Array) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs in ascending cost, each row and column used once; returns matches and leftovers."""
    n, m = cost.shape
    matches: list[tuple[int, int]] = []
    if n and m:
        flat = np.argsort(cost, axis=None)
        used_r: set[int] = set()
        used_c: set[int] = set()
        for k in flat:
            r, c = divmod(int(k), m)
            if not np.isfinite(cost[r, c]):
                break
            if r in used_r or c in used_c:
                continue
            matches.append((r, c))
            used_r.add(r)
            used_c.add(c)
    rows = {r for r, _ in matches}
    cols = {c for _, c in matches}
    return matches, [r for r in range(n) if r not in rows], [c for c in range(m) if c not in cols]
