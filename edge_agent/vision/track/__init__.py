"""Person tracking: a numpy Kalman + two-stage association tracker (no SciPy, no frames kept)."""

from __future__ import annotations

from .assoc import cost_matrix, greedy_assign, iou_matrix
from .kalman import BoxKalman
from .tracker import Track, Tracker

__all__ = ["BoxKalman", "Track", "Tracker", "cost_matrix", "greedy_assign", "iou_matrix"]
