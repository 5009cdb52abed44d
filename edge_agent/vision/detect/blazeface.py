"""BlazeFace short-range face detector on LiteRT (tflite-runtime as a fallback import).

MediaPipe's front-camera model: 128x128 RGB in [-1, 1], 896 SSD anchors on two grids (16x16 x 2,
8x8 x 6, fixed unit size), box offsets scaled by 128. It finds faces that fill at least ~1/10 of the
frame, i.e. a counter or door camera, not a street scene; use YuNet for small faces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge_agent.settings.detection import FaceSettings
from edge_agent.vision.models import VisionModelError

from .boxes import Boxes, empty, nms

INPUT = 128
GRIDS = ((16, 2), (8, 6))  # (cells per side, anchors per cell)


class RuntimeMissing(VisionModelError):
    """Neither ai-edge-litert nor tflite-runtime can be imported."""


def anchors() -> np.ndarray:
    """Anchor centres `(896, 2)` as fractions of the input, in the model's output order."""
    rows = []
    for cells, per_cell in GRIDS:
        for y in range(cells):
            for x in range(cells):
                rows += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.asarray(rows, dtype=np.float32)


def load_interpreter(path: Path, threads: int) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise RuntimeMissing(
                "BlazeFace needs ai-edge-litert (pip install 'edge-agent[vision]')"
            ) from exc
    try:
        interp = Interpreter(model_path=str(path), num_threads=threads or None)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise VisionModelError(f"cannot load {path} as a TFLite model: {exc}") from exc
    return interp


def decode(
    regressors: np.ndarray, logits: np.ndarray, anchor_xy: np.ndarray, threshold: float
) -> Boxes:
    """Raw outputs to `[x1, y1, x2, y2, score]` in input fractions (0..1), before NMS."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float32), -80, 80)))
    keep = scores >= threshold
    if not keep.any():
        return empty()
    r = regressors.reshape(-1, regressors.shape[-1])[keep]
    cx = anchor_xy[keep, 0] + r[:, 0] / INPUT
    cy = anchor_xy[keep, 1] + r[:, 1] / INPUT
    w = r[:, 2] / INPUT
    h = r[:, 3] / INPUT
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, scores[keep]], axis=1).astype(
        np.float32
    )


class BlazeFaceDetector:
    """`FaceDetector` for BlazeFace short range; the frame is letterboxed to keep faces round."""

    def __init__(self, settings: FaceSettings, model: Path) -> None:
        import cv2

        self._cv2: Any = cv2
        self._settings = settings
        self._interp = load_interpreter(model, settings.threads)
        inp = self._interp.get_input_details()[0]
        if tuple(inp["shape"]) != (1, INPUT, INPUT, 3):
            raise VisionModelError(
                f"{model} takes input {tuple(inp['shape'])}, not BlazeFace short range's "
                "(1, 128, 128, 3)"
            )
        self._input = inp["index"]
        outs = sorted(
            self._interp.get_output_details(), key=lambda d: int(d["shape"][-1]), reverse=True
        )
        self._regress, self._scores = outs[0]["index"], outs[1]["index"]
        self._anchors = anchors()

    def detect(self, frame_bgr: np.ndarray) -> Boxes:
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or min(frame_bgr.shape[:2]) < 2:
            raise ValueError(f"expected an HxWx3 BGR frame, got shape {frame_bgr.shape}")
        cv2 = self._cv2
        h, w = frame_bgr.shape[:2]
        side = max(h, w)
        square = cv2.copyMakeBorder(
            frame_bgr, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT, value=(0, 0, 0)
        )
        rgb = cv2.cvtColor(
            cv2.resize(square, (INPUT, INPUT), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
        )
        tensor = (rgb.astype(np.float32) / 127.5 - 1.0)[None]
        self._interp.set_tensor(self._input, tensor)
        self._interp.invoke()
        boxes = decode(
            self._interp.get_tensor(self._regress),
            self._interp.get_tensor(self._scores),
            self._anchors,
            self._settings.score_threshold,
        )
        if len(boxes) == 0:
            return boxes
        boxes[:, :4] *= side
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        return nms(boxes, self._settings.nms_iou)
