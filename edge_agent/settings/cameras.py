"""The `cameras` section: sources, counting lines and zones (filled in by the vision work)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CameraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    source: str = Field(description="rtsp://..., /dev/videoN or a video file path.")
    enabled: bool = True
    fps: float = Field(default=10, gt=0, le=60)
