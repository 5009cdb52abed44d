"""The shapes of what the cameras send upstream: the `data` of each per-minute summary and event.

The aggregator builds every record through these models, and their JSON Schemas are committed in
docs/schemas/ (edge_agent.uplink.schemas), so HQ's parsers and the code cannot drift apart.
Counts are per camera and minute; the record's `ts` is the minute's start.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def data(self) -> dict[str, Any]:
        """The record's `data`, as JSON sends it."""
        return self.model_dump(mode="json", by_alias=True)


class _Summary(_Data):
    partial: bool = Field(
        default=False,
        description="Present (true) when the camera did not watch the whole minute: the first "
        "after a start or reload, one cut short by a stop, a reload or the camera going down, or "
        "one with a break in the frames. A reload part-way through a minute sends two partial "
        "records for it: add them.",
    )

    def data(self) -> dict[str, Any]:
        """The record's `data`: `partial` appears only when true."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"partial"})
        return {**data, "partial": True} if self.partial else data


class LineCounts(_Data):
    in_: int = Field(alias="in", ge=0, description="Crossings ending on the line's `in` side.")
    out: int = Field(ge=0)


class FootfallSummary(_Summary):
    """`footfall`: in/out per counting line (every configured line, zeros included)."""

    lines: dict[str, LineCounts]


class MeanMax(_Data):
    mean: float = Field(ge=0, description="Mean over the minute's processed frames.")
    max: int = Field(ge=0)


class OccupancySummary(_Summary):
    """`occupancy`: people in the picture, and per zone (by foot point)."""

    people: MeanMax
    zones: dict[str, MeanMax]


class DwellStats(_Data):
    visits: int = Field(ge=0, description="Visits that ended this minute.")
    p50_s: float | None = Field(description="Median visit length; null with no visit.")
    p90_s: float | None


class DwellSummary(_Summary):
    """`dwell`: visits that ended in each zone this minute."""

    zones: dict[str, DwellStats]


class QueueStats(_Data):
    length_mean: float = Field(ge=0)
    length_max: int = Field(ge=0)
    wait_p50_s: float | None = Field(
        description="Median wait of the visits that ended in the last 30 minutes; null with none."
    )
    wait_p90_s: float | None
    served: int = Field(ge=0, description="Visits that ended this minute.")


class QueueSummary(_Summary):
    """`queue`: each `kind: queue` zone."""

    zones: dict[str, QueueStats]


class FacesSeen(_Data):
    max: int = Field(ge=0, description="Most faces in one frame; a count, nothing else is kept.")
    mean: float = Field(ge=0)


class CameraSummary(_Summary):
    """`camera`: how the camera and its pipeline did this minute."""

    state: str = Field(description="`ok`, `starting`, `down` or `stopped` at the minute's end.")
    reason: str = Field(description="The capture's reason code (`ok`, `no_signal`, `frozen`...).")
    frames: int = Field(ge=0, description="Frames processed; 0 for a minute the camera was down.")
    fps: float = Field(ge=0)
    detector_runs: int = Field(ge=0)
    close_ups: int = Field(ge=0, description="Close-up detector passes run (spare CPU only).")
    proc_ms_mean: float = Field(ge=0)
    faces_seen: FacesSeen
    busyness: int | None = Field(
        ge=0, le=100, description="Branch busyness index 0-100; null with no capacity or wait."
    )


class QueueAlertEvent(_Data):
    """Event `queue_alert`: a queue zone over its alert length for `minutes`, or back under it."""

    zone: str
    length_mean: float = Field(ge=0)
    threshold: int = Field(ge=1)
    minutes: int = Field(ge=1)
    state: Literal["raised", "cleared"]


class CameraStateEvent(_Data):
    """Event `camera_state`: the camera's worker changed state."""

    camera: str
    state: str = Field(description="`starting`, `running`, `down` or `stopped`.")
    reason: str = Field(description="The capture's reason code, or `stalled` / `crashed`.")
    detail: str = Field(description="What went wrong, for people; empty when running.")
    ts: float


#: Schema file name (in docs/schemas/) -> model of the record's `data`.
DATA_MODELS: dict[str, type[BaseModel]] = {
    "summary-footfall": FootfallSummary,
    "summary-occupancy": OccupancySummary,
    "summary-dwell": DwellSummary,
    "summary-queue": QueueSummary,
    "summary-camera": CameraSummary,
    "event-queue-alert": QueueAlertEvent,
    "event-camera-state": CameraStateEvent,
}
