"""A camera's `detector`, `faces` and `motion` settings: the knobs a field engineer may turn,
with safe defaults. Plain pydantic, so validating a config loads no numpy or OpenCV; the
camera workers (edge_agent.vision.detect) build their detectors from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Region(BaseModel):
    """A rectangle in fractions of the frame (0..1), so it survives a change of resolution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x1: float = Field(default=0.0, ge=0, le=1)
    y1: float = Field(default=0.0, ge=0, le=1)
    x2: float = Field(default=1.0, ge=0, le=1)
    y2: float = Field(default=1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Region:
        if self.x2 <= self.x1 or self.y2 <= self.y1:
            raise ValueError("region needs x1 < x2 and y1 < y2")
        return self


class DetectorSettings(BaseModel):
    """Person detector. Tiling trades speed for recall on small, far people (models/README.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["ssdlite"] = "ssdlite"
    runtime: Literal["auto", "openvino", "opencv"] = Field(
        default="auto",
        description="What runs the network: OpenVINO (about 1.8x faster on x86), OpenCV's dnn "
        "module, or auto: OpenVINO where it is installed and works. Both give the same boxes.",
    )
    model: str = Field(default="ssdlite_person", description="Manifest name of the weights.")
    graph: str = Field(
        default="ssdlite_person_graph", description="Manifest name of the OpenCV text graph."
    )
    score_threshold: float = Field(
        default=0.15,
        gt=0,
        lt=1,
        description="Low on purpose: the tracker's two-stage association sorts weak boxes.",
    )
    nms_iou: float = Field(default=0.45, gt=0, le=1)
    input_size: Literal[300] = Field(
        default=300, description="Network input side; the graph's anchors are laid out for 300."
    )
    tiles: tuple[int, int] = Field(
        default=(2, 1), description="Tile grid (columns, rows) over the region."
    )
    tile_overlap: float = Field(
        default=0.25, ge=0, lt=0.9, description="Overlap between neighbouring tiles."
    )
    full_frame: bool = Field(
        default=False,
        description="Also run once on the whole region, for people too big for a tile.",
    )
    focus: bool = Field(
        default=True,
        description="Skip tile passes that touch no motion and no tracked person (needs the gate).",
    )
    crowd_passes: int = Field(
        default=2,
        ge=0,
        le=4,
        description="Extra passes a detector run may spend on close-up crops around people "
        "standing close together (0: off). They run only on spare CPU: see crowd_load.",
    )
    crowd_load: float | None = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Close-ups go on while this camera's pipeline, with them, would take less "
        "than this share of the time between its frames (over the last two seconds; a choice "
        "holds at least 20 s; vision/budget.py); null: always, whatever the load.",
    )
    region: Region = Field(
        default_factory=Region, description="Where people can be; detection ignores the rest."
    )
    min_box_px: int = Field(
        default=8, ge=0, description="Drop boxes narrower or shorter than this."
    )
    threads: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Threads that run the network in the camera worker, on OpenVINO or OpenCV "
        "(0 = the library's default: all cores).",
    )

    @model_validator(mode="after")
    def _grid(self) -> DetectorSettings:
        cols, rows = self.tiles
        if not (1 <= cols <= 6 and 1 <= rows <= 6):
            raise ValueError("tiles must be between (1, 1) and (6, 6)")
        return self


class FaceSettings(BaseModel):
    """Face counter. YuNet finds small faces; BlazeFace is faster but sees only near faces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["yunet", "blazeface"] = "yunet"
    model: str | None = Field(default=None, description="Manifest name; default per backend.")
    score_threshold: float = Field(default=0.6, gt=0, lt=1)
    nms_iou: float = Field(default=0.3, gt=0, le=1)
    input_width: int = Field(
        default=640, ge=64, le=4096, description="YuNet: frames are scaled to this width."
    )
    threads: int = Field(default=1, ge=0, le=16)

    @property
    def model_name(self) -> str:
        return self.model or {"yunet": "yunet", "blazeface": "blazeface_short"}[self.backend]


class MotionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(default=160, ge=32, le=1280, description="Width of the analysed copy.")
    history: int = Field(default=300, ge=10, description="MOG2 history, in frames.")
    var_threshold: float = Field(default=25.0, gt=0)
    min_area: float = Field(
        default=0.002, ge=0, le=1, description="Moving share of the frame that counts as motion."
    )
    warmup_frames: int = Field(
        default=10, ge=0, description="Frames that always run the detector while learning."
    )
    hold_frames: int = Field(
        default=5, ge=0, description="Keep saying 'run' this many frames after motion stops."
    )
