"""Person and face detection plus motion gating for the camera workers.

Importing this package loads numpy but not cv2 or LiteRT; the builders load those.
"""

from __future__ import annotations

from edge_agent.settings.detection import DetectorSettings, FaceSettings, MotionSettings, Region
from edge_agent.vision.models import ModelMismatch, ModelMissing, VisionModelError

from .build import build_face_detector, build_person_detector
from .motion import Mog2MotionGate
from .protocols import Detector, FaceDetector, FocusDetector, MotionGate

__all__ = [
    "Detector",
    "DetectorSettings",
    "FaceDetector",
    "FaceSettings",
    "FocusDetector",
    "ModelMismatch",
    "ModelMissing",
    "Mog2MotionGate",
    "MotionGate",
    "MotionSettings",
    "Region",
    "VisionModelError",
    "build_face_detector",
    "build_person_detector",
]
