"""Factories that turn settings plus the models folder into ready detectors.

They resolve every file through the manifest first, so a missing or altered model fails here, at
camera start, with `ModelMissing`/`ModelMismatch` naming `edge-agent models fetch`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.settings.detection import DetectorSettings, FaceSettings
from edge_agent.vision.models import resolve

if TYPE_CHECKING:
    from .protocols import Detector, FaceDetector


def build_person_detector(settings: DetectorSettings, models_dir: Path) -> Detector:
    from .ssdlite import SsdLiteDetector

    return SsdLiteDetector(
        settings, resolve(settings.model, models_dir), resolve(settings.graph, models_dir)
    )


def build_face_detector(settings: FaceSettings, models_dir: Path) -> FaceDetector:
    path = resolve(settings.model_name, models_dir)
    if settings.backend == "blazeface":
        from .blazeface import BlazeFaceDetector

        return BlazeFaceDetector(settings, path)
    from .yunet import YuNetDetector

    return YuNetDetector(settings, path)
