"""The `cameras` section: sources, counting lines, zones, tracker and privacy switches.

Coordinates are normalised to the image (x right, y down, 0..1) so a config survives a change of
stream resolution. Detector settings are validated by the vision package itself (it owns the
models), so here they stay a plain mapping and importing the settings never pulls in OpenCV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drivers.sdk import ID_PATTERN

from .detection import DetectorSettings, FaceSettings, MotionSettings
from .paths import path_problem

Point = tuple[float, float]
URL_SCHEMES = ("rtsp", "rtsps", "http", "https")  # what vision.capture opens as a stream


class CredentialsError(Exception):
    """A camera's `credentials_file` cannot be used; the message names the file and says why."""


def _check_unit(points: list[Point]) -> list[Point]:
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(
                f"point ({x}, {y}) is outside the image: use normalised 0..1 coordinates"
            )
    return points


class LineSettings(BaseModel):
    """A counting line: `in` ends where cross(B-A, P-A) > 0 (right-to-left if drawn downwards)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    points: list[Point] = Field(
        min_length=2, max_length=2, description="[[ax, ay], [bx, by]], normalised."
    )
    band: float = Field(
        default=0.01, ge=0, le=0.2, description="Hysteresis half-width, normalised."
    )
    band_height: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="The band is also at least this share of the person's box height; it never goes below 0.1 "
        "(10% of the box), which absorbs the jitter of a detected box's bottom edge.",
    )
    debounce_s: float = Field(
        default=1.0, ge=0, le=60, description="A track cannot flip direction within this."
    )

    @field_validator("points")
    @classmethod
    def _points(cls, v: list[Point]) -> list[Point]:
        _check_unit(v)
        if v[0] == v[1]:
            raise ValueError("a line needs two distinct points")
        return v


class QueueAlert(BaseModel):
    """Raise an event when the queue is at least `length` people for `minutes` minutes in a row."""

    model_config = ConfigDict(extra="forbid")

    length: int = Field(ge=1, le=1000)
    minutes: int = Field(default=5, ge=1, le=240)


Polygon = Annotated[
    list[Point],
    Field(min_length=3, max_length=64, description="Polygon, normalised."),
    AfterValidator(_check_unit),
]


class IgnoreArea(BaseModel):
    """Where a detected "person" is never one: a poster, a mannequin, a screen showing people."""

    model_config = ConfigDict(extra="forbid")

    points: Polygon
    note: str | None = Field(default=None, max_length=80, description="What is there, for people.")


class ZoneSettings(BaseModel):
    """A polygon zone: occupancy and dwell; `kind: queue` adds queue length and wait estimates."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    kind: Literal["area", "queue"] = "area"
    points: Polygon
    grace_s: float = Field(
        default=2.0, ge=0, le=600, description="Out this long before a visit ends."
    )
    capacity: int | None = Field(
        default=None, ge=1, description="People at which the zone is 'full' (busyness)."
    )
    target_wait_s: float = Field(
        default=300.0, gt=0, description="Queue wait that counts as 'full' (busyness)."
    )
    alert: QueueAlert | None = None

    @model_validator(mode="after")
    def _alert_only_on_queue(self) -> ZoneSettings:
        if self.alert is not None and self.kind != "queue":
            raise ValueError("`alert` is only for zones with kind: queue")
        return self


class TrackerSettings(BaseModel):
    """Tracker knobs. The defaults suit people at 5-15 fps; times are seconds, not frames."""

    model_config = ConfigDict(extra="forbid")

    high_score: float = Field(
        default=0.3, ge=0, le=1, description="First-stage association threshold."
    )
    low_score: float = Field(
        default=0.1, ge=0, le=1, description="Detections below this are ignored."
    )
    new_track_score: float = Field(
        default=0.3, ge=0, le=1, description="Score needed to start a track."
    )
    min_hits: int = Field(default=2, ge=1, le=30, description="Hits before a track is confirmed.")
    max_age_s: float = Field(
        default=2.0, gt=0, le=30, description="How long a lost track may come back."
    )
    tentative_age_s: float = Field(
        default=1.0, ge=0, le=5, description="How long a new track may miss."
    )
    match_iou: float = Field(
        default=0.2, ge=0, le=1, description="Minimum IoU for a first-stage match..."
    )
    match_distance: float = Field(
        default=1.0, ge=0, le=5, description="...or centre distance, in box heights."
    )
    appearance_weight: float = Field(
        default=1.0,
        ge=0,
        le=5,
        description="Weight of the torso-colour cue when two people could take one box; 0: off.",
    )


class DebugSettings(BaseModel):
    """Off by default: frames are written only with `save_frames` set, under a retention limit."""

    model_config = ConfigDict(extra="forbid")

    save_frames: bool = False
    frames_dir: str | None = None
    retention_minutes: float = Field(default=60, gt=0, le=24 * 60)
    every_s: float = Field(
        default=5.0, ge=0.1, le=3600, description="At most one frame this often."
    )
    max_files: int = Field(default=200, ge=1, le=10_000)

    @model_validator(mode="after")
    def _dir_when_saving(self) -> DebugSettings:
        if self.save_frames and not self.frames_dir:
            raise ValueError("debug.save_frames needs debug.frames_dir")
        return self


class CameraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    source: str = Field(description="rtsp://..., /dev/videoN or a video file path.")
    credentials_file: Path | None = Field(
        default=None,
        description="File holding `user:password` for an rtsp:// source, so the password stays out "
        "of the config (it replaces any user in the URL).",
    )
    enabled: bool = True
    fps: float = Field(default=10, gt=0, le=60)
    width: int | None = Field(
        default=640,
        ge=64,
        le=4096,
        description="Frames are scaled to fit inside width x height, keeping their shape "
        "(a 16:9 camera gives 640x360); null: no limit on that side.",
    )
    height: int | None = Field(
        default=480, ge=64, le=4096, description="See width; null: no limit on the height."
    )
    lines: list[LineSettings] = Field(default_factory=list)
    zones: list[ZoneSettings] = Field(default_factory=list)
    ignore: list[IgnoreArea] = Field(
        default_factory=list,
        max_length=32,
        description="Areas where detections are dropped: a box whose foot point (bottom centre) "
        "falls inside never becomes a person, so it adds to no line, zone or occupancy.",
    )
    detector: dict[str, Any] = Field(
        default_factory=dict, description="Person detector settings (vision.detect)."
    )
    faces: dict[str, Any] | None = Field(
        default=None, description="Face counting settings; off when unset."
    )
    detect_fps: float | None = Field(
        default=3.4,
        gt=0,
        le=60,
        description="Run the person detector at most this often and let the tracker bridge the frames "
        "between (3.4 = every third frame of a 10 fps stream: what lets 4 cameras share 2 cores); "
        "null = every frame.",
    )
    face_every_n: int = Field(
        default=5, ge=1, le=100, description="Run the face detector on every n-th frame."
    )
    motion_gate: bool = Field(default=True, description="Skip the detector on still frames (MOG2).")
    motion: dict[str, Any] = Field(
        default_factory=dict, description="Motion gate settings (vision.detect)."
    )
    tracker: TrackerSettings = Field(default_factory=TrackerSettings)
    debug: DebugSettings = Field(default_factory=DebugSettings)

    @field_validator("source")
    @classmethod
    def _usable_source(cls, v: str) -> str:
        """Refuse here what would make the camera worker crash at every start."""
        problem = path_problem(v)
        if not v or problem:
            raise ValueError(
                f"the source {problem or 'is empty'}: give rtsp://HOST/..., /dev/videoN or a file"
            )
        if "://" not in v:
            return v  # /dev/videoN or a file, relative to the config file
        scheme = v.split("://", 1)[0]
        if scheme not in URL_SCHEMES:
            raise ValueError(
                f"{scheme}:// is not a camera URL: use " + ", ".join(f"{s}://" for s in URL_SCHEMES)
            )
        try:
            parts = urlsplit(v)
        except ValueError:  # urllib's message may quote the URL, password and all
            raise ValueError(
                "not a usable URL: write scheme://[user:password@]host[:port]/path"
            ) from None
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError:  # its message quotes the text after the colon: perhaps a password
            raise ValueError(
                "the URL's port is not a number from 0 to 65535 (a password belongs before "
                "the @, or in credentials_file)"
            ) from None
        if not parts.hostname:
            raise ValueError("the URL names no camera host")
        try:
            parts.hostname.encode("idna")  # what the socket calls do with it
        except UnicodeError:
            raise ValueError(f"{parts.hostname!r} is not a valid host name") from None
        return v

    @field_validator("detector", "faces", "motion")
    @classmethod
    def _vision_settings(
        cls, v: dict[str, Any] | None, info: ValidationInfo
    ) -> dict[str, Any] | None:
        model: dict[str, type[BaseModel]] = {
            "detector": DetectorSettings,
            "faces": FaceSettings,
            "motion": MotionSettings,
        }
        if v is not None:
            model[str(info.field_name)].model_validate(v)
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraSettings:
        for what, ids in (
            ("line", [x.id for x in self.lines]),
            ("zone", [z.id for z in self.zones]),
        ):
            dup = {i for i in ids if ids.count(i) > 1}
            if dup:
                raise ValueError(f"duplicate {what} id(s): {sorted(dup)}")
        return self

    def credentials(self) -> tuple[str, str]:
        """`(user, password)` from `credentials_file`. Raises CredentialsError."""
        path = self.credentials_file
        if path is None:
            return "", ""
        try:
            raw = path.read_bytes()
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            why = exc.strerror if isinstance(exc, OSError) else exc
            raise CredentialsError(f"cannot read credentials file {path}: {why}") from None
        try:
            user, _, password = raw.decode("utf-8").strip().partition(":")
        except UnicodeDecodeError as exc:  # its `object` holds the password: raised unchained
            offset = exc.start
        else:
            return user, password
        raise CredentialsError(
            f"credentials file {path} is not UTF-8 text (invalid byte at offset {offset}); "
            "write `user:password` in it"
        )

    def source_with_credentials(self) -> str:
        """`source` with the user and password from `credentials_file` put into its URL.

        Raises CredentialsError when the file cannot be read.
        """
        if self.credentials_file is None or "://" not in self.source:
            return self.source
        user, password = self.credentials()
        parts = urlsplit(self.source)
        host = parts.netloc.rpartition("@")[2]  # any user already in the URL is replaced
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
        return parts._replace(netloc=netloc).geturl()
