"""The seams between detection and tracking: plain Protocols, so a test double is any object."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Detector(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Boxes `(N, 5)` float32 `[x1, y1, x2, y2, score]` in the frame's pixels."""
        ...


@runtime_checkable
class FocusDetector(Detector, Protocol):
    def detect_where(self, frame_bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Like `detect`, but passes whose area misses every `(K, >=4)` xyxy box may be skipped."""
        ...


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Face boxes, same layout as `Detector.detect`."""
        ...


@runtime_checkable
class MotionGate(Protocol):
    def update(self, frame: np.ndarray) -> bool:
        """True when the frame has motion worth running the detector on."""
        ...
