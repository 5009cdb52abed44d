"""Offline replay of a video through the full camera pipeline, at full speed.

This is the code the worker runs, minus the process boundary and the pacing: timestamps come
from the file itself, so the tracker's motion model sees the real dt however fast we decode.
Tests, `edge-agent vision replay` and bench/vision.py all go through `replay()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from edge_agent.settings.cameras import CameraSettings

from .pipeline import FrameResult, Pipeline
from .worker import FrameSource
from .zones import percentile


@dataclass(slots=True)
class ReplayReport:
    """What a replay found: totals per line, occupancy and dwell per zone, speed."""

    frames: int = 0  # frames processed (a file faster than the camera's `fps` has more)
    source_frames: int = 0  # frames of the file read, processed or fps-skipped (--frames-out lines)
    seconds: float = 0.0
    media_seconds: float = 0.0  # the file's length replayed: first frame to the end of the last
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    zones: dict[str, dict[str, Any]] = field(default_factory=dict)
    people_mean: float = 0.0
    people_max: int = 0
    detector_runs: int = 0
    close_ups: int = 0  # network passes spent on close-ups of people standing together
    runtime: str | None = None  # what ran the person network: "openvino" or "opencv"
    stopped: str | None = None  # why the source ended before its last frame, or None
    per_frame: list[FrameResult] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "source_frames": self.source_frames,
            "seconds": round(self.seconds, 3),
            "media_seconds": round(self.media_seconds, 3),
            "fps": round(self.fps, 2),
            "detector_runs": self.detector_runs,
            "close_ups": self.close_ups,
            "runtime": self.runtime,
            "lines": self.lines,
            "zones": self.zones,
            "people": {"mean": round(self.people_mean, 3), "max": self.people_max},
            "stopped": self.stopped,
        }


def replay(
    video: Path,
    settings: CameraSettings,
    models_dir: Path,
    *,
    pipeline: Pipeline | None = None,
    frames_out: IO[str] | None = None,
    keep_frames: bool = False,
    max_frames: int | None = None,
    on_frame: Callable[[FrameResult], None] | None = None,
    source_fps: float | None = None,
) -> ReplayReport:
    """Run `video` (a file, or a folder of pictures) through the camera's pipeline.

    The pipeline is built from `models_dir` unless one is given. `source_fps` is the frame rate of
    a folder of pictures that has no seqinfo.ini. A source that fails part-way ends the replay
    with the figures so far and says why in `stopped`.
    """
    from .worker import build_pipeline, open_source

    cfg = settings.model_copy(update={"source": str(video)})
    pipe = pipeline or build_pipeline(cfg, models_dir)
    source = open_source(cfg, loop=False, source_fps=source_fps)
    report = ReplayReport()
    tally = _Tally([z.id for z in cfg.zones])
    lines = _FrameLines(frames_out) if frames_out is not None else None
    first_ts: float | None = None
    started = time.perf_counter()
    try:
        while max_frames is None or report.frames < max_frames:
            got = _read(source)
            if not isinstance(got, tuple):
                report.stopped = got
                break
            ts, frame = got
            first_ts = ts if first_ts is None else first_ts
            r = pipe.process(ts, frame)
            report.frames += 1
            report.media_seconds = ts - first_ts
            report.detector_runs += int(r.detected)
            report.close_ups += r.close_ups
            tally.add(r.people, r.zones, r.visits)
            if lines is not None:
                lines.write(getattr(source, "grabbed", r.frame + 1) - 1, r)
            if keep_frames:
                report.per_frame.append(r)
            if on_frame is not None:
                on_frame(r)
        grabbed = getattr(source, "grabbed", report.frames)
        # A source that stopped part-way was stopped by the last frame it grabbed, which was
        # never counted: no frames-out line may stand for it.
        report.source_frames = grabbed - 1 if report.stopped and report.frames else grabbed
        if lines is not None:
            lines.finish(report.source_frames)
        report.media_seconds = _covered(source, first_ts, report)
    finally:
        source.close()
    tally.visits(_close_visits(pipe))
    report.seconds = time.perf_counter() - started
    report.runtime = pipe.engine  # the engine at the end: OpenVINO may have handed over part-way
    report.lines = {k: dict(v) for k, v in pipe.lines.totals.items()}
    report.people_mean, report.people_max = tally.people(report.frames)
    report.zones = tally.zones(report.frames)
    return report


class _Tally:
    """People in view, and occupancy and visits per zone, summed over a replay's frames."""

    def __init__(self, zone_ids: list[str]) -> None:
        self._people_sum = self._people_max = 0
        self._sum: dict[str, int] = dict.fromkeys(zone_ids, 0)
        self._max: dict[str, int] = dict.fromkeys(zone_ids, 0)
        self._dwell: dict[str, list[float]] = {z: [] for z in zone_ids}

    def add(
        self, people: int, zones: dict[str, int], visits: list[tuple[str, float, float]]
    ) -> None:
        """One frame's figures."""
        self._people_sum += people
        self._people_max = max(self._people_max, people)
        for zid, n in zones.items():
            self._sum[zid] += n
            self._max[zid] = max(self._max[zid], n)
        self.visits(visits)

    def visits(self, visits: list[tuple[str, float, float]]) -> None:
        """Visits that ended: `(zone id, start, end)`."""
        for zid, start, end in visits:
            self._dwell[zid].append(end - start)

    def people(self, frames: int) -> tuple[float, int]:
        return self._people_sum / max(frames, 1), self._people_max

    def zones(self, frames: int) -> dict[str, dict[str, Any]]:
        n = max(frames, 1)
        return {
            zid: {
                "mean": round(total / n, 3),
                "max": self._max[zid],
                "visits": len(self._dwell[zid]),
                "dwell_p50_s": _r(percentile(self._dwell[zid], 50)),
                "dwell_p90_s": _r(percentile(self._dwell[zid], 90)),
            }
            for zid, total in self._sum.items()
        }


def _read(source: FrameSource) -> tuple[float, npt.NDArray[np.uint8]] | str | None:
    """The next frame; None at the end of the file; or why the source failed part-way."""
    while True:
        got = source.read()
        if got is not None:
            return got
        if source.reason not in ("ok", "frozen"):  # a still picture is no failure in a file
            return f"{source.reason}: {source.detail}"
        if source.ended:
            return None


def _covered(source: FrameSource, first_ts: float | None, report: ReplayReport) -> float:
    """Seconds of the file the replay went through: from its first frame to the end of the last
    one grabbed (fps-skipped frames included), so a 2 s clip says 2 s. A replay stopped by a
    frame that would not decode covers the frames before it only."""
    until = getattr(source, "grabbed_until", None)
    if first_ts is None or until is None:
        return report.media_seconds
    if report.stopped:  # the frame grabbed last is the one that stopped it (as source_frames)
        frame_s = float(getattr(source, "frame_s", 0.0))
        return max(report.media_seconds, float(until) - frame_s - first_ts)
    return float(until) - first_ts


def _close_visits(pipe: Pipeline) -> list[tuple[str, float, float]]:
    """At the end of the video, people still in view end their visits and started crossings."""
    ids = [t.id for t in pipe.tracker.tracks]
    pipe.lines.forget(ids)
    return [(v.zone_id, v.start, v.end) for v in pipe.zones.forget(ids)]


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


class _FrameLines:
    """--frames-out: one line per frame of the file, numbered as the file numbers them (from 0).

    Frames skipped to honour the camera's `fps` repeat the last processed result, so a line per
    source frame can be compared with per-frame ground truth whatever the file's frame rate.
    """

    def __init__(self, out: IO[str]) -> None:
        self._out, self._written = out, 0
        self._last: FrameResult | None = None

    def write(self, index: int, r: FrameResult) -> None:
        for skipped in range(self._written, index):
            self._out.write(_frame_line(skipped, self._last or r))
        self._out.write(_frame_line(index, r))
        self._written, self._last = index + 1, r

    def finish(self, total: int) -> None:
        if self._last is not None:
            for skipped in range(self._written, total):
                self._out.write(_frame_line(skipped, self._last))


def _frame_line(index: int, r: FrameResult) -> str:
    return json.dumps({"frame": index, "people": r.people, "zones": r.zones}) + "\n"
