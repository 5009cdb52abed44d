"""Per-minute summaries and notable events, built from per-frame results in the daemon process.

The aggregator lives in the parent, not in the camera worker: every frame result is handed over
as soon as it is made, so killing a worker loses at most the frame being processed and the visits
still open in its tracker, never a minute of counts. The records' shapes are in summaries.py.

A minute the camera did not watch whole is marked `partial: true`: its first frame came late
(the service started, or the camera came back, part-way through), its last frame came early (the
service stopped, or the camera went down), or frames stopped for a while inside it. A minute with
no frame at all (the camera was down throughout) sends only its `camera` summary: no counts, so a
dashboard shows a gap, not zero visitors.

Branch busyness index (0-100, per camera and minute): the fullest of the configured ratios,
    max( occupancy_mean / capacity            for zones with `capacity`,
         queue_wait_p50_s / target_wait_s      for queue zones with a wait estimate )
clipped to 1 and scaled to 100; null when no zone sets a capacity and no queue has a wait yet.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from edge_agent.settings.cameras import CameraSettings
from edge_agent.store.items import ItemClass, NewItem

from .pipeline import FrameResult
from .summaries import (
    CameraSummary,
    DwellStats,
    DwellSummary,
    FacesSeen,
    FootfallSummary,
    LineCounts,
    MeanMax,
    OccupancySummary,
    QueueAlertEvent,
    QueueStats,
    QueueSummary,
)
from .zones import percentile

CLOSE_GRACE_S = 5.0  # a minute with no frames past its end is closed this long after it ends
WAIT_WINDOW_S = 30 * 60  # queue wait estimates look at visits that ended in the last half hour
WAIT_MAX_VISITS = 200
BACK_STEP_S = 300.0  # a frame or tick this long before the minute in hand: the clock was set back
GAP_S = 5.0  # frames this far apart (or three frame intervals, if longer) leave a minute partial


@dataclass(slots=True)
class _Minute:
    start: float
    frames: int = 0
    detector_runs: int = 0
    close_ups: int = 0
    first_ts: float | None = None
    last_ts: float = 0.0
    gap: bool = False  # frames stopped for a while inside the minute
    proc_s: float = 0.0
    people_sum: int = 0
    people_max: int = 0
    faces_sum: int = 0
    faces_frames: int = 0
    faces_max: int = 0
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    occ_sum: dict[str, int] = field(default_factory=dict)
    occ_max: dict[str, int] = field(default_factory=dict)
    dwell: dict[str, list[float]] = field(default_factory=dict)


def minute_of(ts: float) -> float:
    return math.floor(ts / 60.0) * 60.0


class Aggregator:
    """Turns FrameResults into SUMMARY items per minute, and EVENT items for queue alerts."""

    def __init__(self, settings: CameraSettings, emit: Callable[[NewItem], None]) -> None:
        self.cfg = settings
        self._emit = emit
        self._cur: _Minute | None = None
        self._waits: dict[str, deque[tuple[float, float]]] = {
            z.id: deque(maxlen=WAIT_MAX_VISITS) for z in settings.zones if z.kind == "queue"
        }
        self._over: dict[str, int] = dict.fromkeys(self._waits, 0)
        self._alerting: dict[str, bool] = dict.fromkeys(self._waits, False)
        self.state = "starting"
        self.reason = "ok"
        self.totals: dict[str, dict[str, int]] = {
            ln.id: {"in": 0, "out": 0} for ln in settings.lines
        }
        self.last_fps = 0.0
        self._gap_s = max(GAP_S, 3.0 / settings.fps)
        self._last_flushed = -math.inf  # start of the last minute sent
        self._first_tick: float | None = None  # when the service first ticked (down cameras)
        self._last_tick: float | None = None
        self._stepped_back_at: float | None = None  # when the clock was last seen set back

    def set_state(self, state: str, reason: str) -> None:
        self.state, self.reason = state, reason

    def add(self, r: FrameResult) -> None:
        ts = self._frame_time(r.ts)
        m = self._minute_for(ts)
        m.frames += 1
        m.detector_runs += int(r.detected)
        m.close_ups += r.close_ups
        if m.first_ts is None:
            m.first_ts = ts
        elif ts - m.last_ts > self._gap_s:
            m.gap = True
        m.last_ts = ts
        m.proc_s += r.proc_s
        m.people_sum += r.people
        m.people_max = max(m.people_max, r.people)
        if r.faces is not None:
            m.faces_sum += r.faces
            m.faces_frames += 1
            m.faces_max = max(m.faces_max, r.faces)
        for zid, n in r.zones.items():
            m.occ_sum[zid] = m.occ_sum.get(zid, 0) + n
            m.occ_max[zid] = max(m.occ_max.get(zid, 0), n)
        for line_id, direction, _tid, _ts in r.crossings:
            counts = m.lines.setdefault(line_id, {"in": 0, "out": 0})
            counts[direction] += 1
            self.totals.setdefault(line_id, {"in": 0, "out": 0})[direction] += 1
        for zid, start, end in r.visits:
            m.dwell.setdefault(zid, []).append(end - start)
            if zid in self._waits:
                self._waits[zid].append((end, end - start))

    def tick(self, now: float) -> None:
        """Close the current minute once wall time is `CLOSE_GRACE_S` past its end, for when no
        frames come to close it (frames of the next minute close it at once)."""
        if self._first_tick is None:
            self._first_tick = now
        self._last_tick = now
        self._follow_clock_back(now)
        if self._cur is not None and now >= self._cur.start + 60.0 + CLOSE_GRACE_S:
            self._flush(self._cur)
            self._cur = None
        if self._cur is None and self.state != "ok":
            # A camera that is down still reports its minute, so a gap is visible upstream; not
            # the minutes before this service started, which it knows nothing about.
            start = minute_of(now - CLOSE_GRACE_S) - 60.0
            if start > self._last_flushed and start >= minute_of(self._first_tick):
                self._flush(_Minute(start=start))

    def close(self) -> None:
        """Flush whatever the current minute holds (service stopping, replay finished)."""
        if self._cur is not None:
            self._flush(self._cur)
            self._cur = None

    def _minute_for(self, ts: float) -> _Minute:
        """The open minute for a frame. A frame late for a minute already sent (the worker lagged
        past the grace) counts in the next one: a minute goes upstream once, and no crossing is
        lost."""
        self._follow_clock_back(ts)
        start = max(minute_of(ts), self._last_flushed + 60.0)
        if self._cur is not None:
            start = max(start, self._cur.start)
        if self._cur is not None and start != self._cur.start:
            self._flush(self._cur)
            self._cur = None
        if self._cur is None:
            self._cur = _Minute(start=start)
        return self._cur

    def _frame_time(self, ts: float) -> float:
        """The frame's time by the clock the minutes now go by. A frame captured before the clock
        was set back and handed over after it (within a minute of the step) counts at the time of
        the last tick: in the minute in hand, instead of reopening the one it was captured in."""
        tick, back = self._last_tick, self._stepped_back_at
        if tick is None or back is None or tick > back + 60.0 or ts <= tick + BACK_STEP_S:
            return ts
        return tick

    def _follow_clock_back(self, t: float) -> None:
        """The wall clock was set back (NTP putting a fast clock right): close the minute in hand
        and go on by the new clock. Without this every frame until the clock caught up again would
        count into the one minute in hand, sent once, hours late. HQ may then get a second record
        for a minute it has, both partial, as after a reload: it adds them."""
        last = max(self._last_flushed, self._cur.start if self._cur is not None else -math.inf)
        if t >= last - BACK_STEP_S:
            return
        self.close()
        self._last_flushed = minute_of(t) - 60.0
        self._first_tick = self._stepped_back_at = t

    def _partial(self, m: _Minute) -> bool:
        """Whether the camera missed part of the minute (a minute with no frame is not partial:
        it is a gap)."""
        if m.first_ts is None:
            return False
        late = m.first_ts - m.start > self._gap_s
        early = m.start + 60.0 - m.last_ts > self._gap_s
        return late or early or m.gap

    def _flush(self, m: _Minute) -> None:
        self._last_flushed = max(self._last_flushed, m.start)
        cam = self.cfg.id
        span = (m.last_ts - m.first_ts) if m.first_ts is not None else 0.0
        fps = (m.frames - 1) / span if m.frames > 1 and span > 0 else 0.0
        self.last_fps = fps
        partial = self._partial(m)

        def put(kind: str, data: dict[str, Any]) -> None:
            self._emit(NewItem(cls=ItemClass.SUMMARY, kind=kind, device=cam, ts=m.start, data=data))

        n = max(m.frames, 1)
        zones_occ = {
            z.id: MeanMax(mean=round(m.occ_sum.get(z.id, 0) / n, 3), max=m.occ_max.get(z.id, 0))
            for z in self.cfg.zones
        }
        queues = self._queues(m, n)
        if m.frames:
            if self.cfg.lines:
                lines = {
                    ln.id: LineCounts.model_validate(m.lines.get(ln.id, {"in": 0, "out": 0}))
                    for ln in self.cfg.lines
                }
                put("footfall", FootfallSummary(lines=lines, partial=partial).data())
            people = MeanMax(mean=round(m.people_sum / n, 3), max=m.people_max)
            put(
                "occupancy",
                OccupancySummary(people=people, zones=zones_occ, partial=partial).data(),
            )
            if self.cfg.zones:
                dwell = {z.id: _stats(m.dwell.get(z.id, [])) for z in self.cfg.zones}
                put("dwell", DwellSummary(zones=dwell, partial=partial).data())
            if queues:
                put("queue", QueueSummary(zones=queues, partial=partial).data())
        camera = CameraSummary(
            state=self.state,
            reason=self.reason,
            frames=m.frames,
            fps=round(fps, 2),
            detector_runs=m.detector_runs,
            close_ups=m.close_ups,
            proc_ms_mean=round(1000 * m.proc_s / n, 2),
            faces_seen=FacesSeen(
                max=m.faces_max, mean=round(m.faces_sum / max(m.faces_frames, 1), 3)
            ),
            busyness=self._busyness(zones_occ, queues) if m.frames else None,
            partial=partial,
        )
        put("camera", camera.data())
        if m.frames:
            self._alerts(m, queues)

    def _queues(self, m: _Minute, n: int) -> dict[str, QueueStats]:
        out: dict[str, QueueStats] = {}
        horizon = m.start + 60.0 - WAIT_WINDOW_S
        for zid, waits in self._waits.items():
            recent = [w for end, w in waits if end >= horizon]
            out[zid] = QueueStats(
                length_mean=round(m.occ_sum.get(zid, 0) / n, 3),
                length_max=m.occ_max.get(zid, 0),
                wait_p50_s=_round(percentile(recent, 50)),
                wait_p90_s=_round(percentile(recent, 90)),
                served=len(m.dwell.get(zid, [])),
            )
        return out

    def _busyness(self, occ: dict[str, MeanMax], queues: dict[str, QueueStats]) -> int | None:
        ratios: list[float] = []
        for z in self.cfg.zones:
            if z.capacity:
                ratios.append(occ[z.id].mean / z.capacity)
            q = queues.get(z.id)
            if q is not None and q.wait_p50_s is not None:
                ratios.append(q.wait_p50_s / z.target_wait_s)
        return round(100 * min(1.0, max(ratios))) if ratios else None

    def _alerts(self, m: _Minute, queues: dict[str, QueueStats]) -> None:
        for z in self.cfg.zones:
            if z.alert is None or z.id not in queues:
                continue
            length = queues[z.id].length_mean
            self._over[z.id] = self._over[z.id] + 1 if length >= z.alert.length else 0
            if self._over[z.id] >= z.alert.minutes and not self._alerting[z.id]:
                self._alerting[z.id] = True
                self._alert(z.id, length, z.alert.length, z.alert.minutes, "raised", m)
            elif self._over[z.id] == 0 and self._alerting[z.id]:
                self._alerting[z.id] = False
                self._alert(z.id, length, z.alert.length, z.alert.minutes, "cleared", m)

    def _alert(
        self,
        zone: str,
        length: float,
        threshold: int,
        minutes: int,
        state: Literal["raised", "cleared"],
        m: _Minute,
    ) -> None:
        event = QueueAlertEvent(
            zone=zone, length_mean=length, threshold=threshold, minutes=minutes, state=state
        )
        self._emit(
            NewItem(ItemClass.EVENT, "queue_alert", self.cfg.id, m.start + 60.0, event.data())
        )


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _stats(durations: list[float]) -> DwellStats:
    return DwellStats(
        visits=len(durations),
        p50_s=_round(percentile(durations, 50)),
        p90_s=_round(percentile(durations, 90)),
    )
