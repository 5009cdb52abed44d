"""Appearance cue for association: a tiny hue/saturation histogram of a person's torso.

Two people walking side by side sit within each other's gating distance, and box geometry alone
cannot tell who is who once their boxes touch. Their clothes usually can. The histogram (8 hue x 4
saturation bins over the middle of the box, L1-normalised) costs a few tens of microseconds per box
and holds no pixels: it is 32 numbers, nothing that identifies anyone beyond this camera's frame.
Brightness is left out on purpose, so a walk from sun into shade keeps the same signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
H_BINS, S_BINS = 8, 4
# Torso: the middle half of the width, from 20% to 55% of the height (below the head, above the
# legs, which swing and show the background between them).
TORSO = (0.25, 0.20, 0.75, 0.55)
MIN_PIXELS = 16  # a torso crop smaller than this says nothing useful


def torso_hist(frame: npt.NDArray[np.uint8], box: Array) -> Array | None:
    """The L1-normalised 32-bin HS histogram of the box's torso, or None when it is too small."""
    import cv2

    cv: Any = cv2
    h, w = frame.shape[:2]
    bw, bh = float(box[2] - box[0]), float(box[3] - box[1])
    x1 = int(np.clip(box[0] + TORSO[0] * bw, 0, w))
    y1 = int(np.clip(box[1] + TORSO[1] * bh, 0, h))
    x2 = int(np.clip(box[0] + TORSO[2] * bw, 0, w))
    y2 = int(np.clip(box[1] + TORSO[3] * bh, 0, h))
    if x2 <= x1 or y2 <= y1 or (x2 - x1) * (y2 - y1) < MIN_PIXELS:
        return None
    hsv = cv.cvtColor(np.ascontiguousarray(frame[y1:y2, x1:x2]), cv.COLOR_BGR2HSV)
    hist = cv.calcHist([hsv], [0, 1], None, [H_BINS, S_BINS], [0, 180, 0, 256])
    flat: Array = np.asarray(hist, dtype=np.float64).ravel()
    total = float(flat.sum())
    return flat / total if total > 0 else None


def hist_distance(a: Array, b: Array) -> float:
    """Half the L1 distance of two normalised histograms: 0 same colours, 1 nothing in common."""
    return 0.5 * float(np.abs(a - b).sum())


def blend(old: Array | None, new: Array, alpha: float) -> Array:
    """Exponential moving average, so one bad crop (a neighbour's arm) does not rewrite a track."""
    if old is None:
        return new
    mixed: Array = (1.0 - alpha) * old + alpha * new
    return mixed / max(float(mixed.sum()), 1e-12)
