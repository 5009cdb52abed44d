"""YuNet face detector through `cv2.FaceDetectorYN`.

Frames are scaled to `input_width` first: YuNet's cost grows with pixels, and at 640 px wide it
still finds faces of ~10 px in a street scene. Landmarks are kept (`last_landmarks`) for the
later consented-VIP alignment step; faces are only counted here, never stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_agent.settings.detection import FaceSettings
from edge_agent.vision.models import VisionModelError

from .boxes import Boxes, empty


class YuNetDetector:
    """`FaceDetector` on YuNet 2023mar (ONNX)."""

    def __init__(self, settings: FaceSettings, model: Path) -> None:
        import cv2

        if settings.threads:
            cv2.setNumThreads(settings.threads)
        self._cv2: Any = cv2
        self._settings = settings
        self._size: tuple[int, int] = (0, 0)
        try:
            self._yn: Any = cv2.FaceDetectorYN.create(
                str(model), "", (320, 320), settings.score_threshold, settings.nms_iou, 500
            )
        except cv2.error as exc:
            raise VisionModelError(f"cannot load {model} as a YuNet model: {exc}") from exc
        self.last_landmarks: np.ndarray = np.zeros((0, 10), dtype=np.float32)

    def detect(self, frame_bgr: np.ndarray) -> Boxes:
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or min(frame_bgr.shape[:2]) < 2:
            raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame_bgr.shape}")
        cv2 = self._cv2
        h, w = frame_bgr.shape[:2]
        scale = min(1.0, self._settings.input_width / w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = (
            frame_bgr if scale == 1.0 else cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        )
        if size != self._size:
            self._yn.setInputSize(size)
            self._size = size
        _, faces = self._yn.detect(image)
        if faces is None or len(faces) == 0:
            self.last_landmarks = np.zeros((0, 10), dtype=np.float32)
            return empty()
        faces = np.asarray(faces, dtype=np.float32) / np.float32(scale)
        faces[:, 14] *= np.float32(scale)  # the score is not a coordinate
        out = np.stack(
            [
                faces[:, 0],
                faces[:, 1],
                faces[:, 0] + faces[:, 2],
                faces[:, 1] + faces[:, 3],
                faces[:, 14],
            ],
            axis=1,
        )
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)  # faces at the edge extend past it
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
        self.last_landmarks = faces[:, 4:14].copy()
        order = np.argsort(-out[:, 4], kind="stable")
        self.last_landmarks = self.last_landmarks[order]
        return out[order].astype(np.float32)
