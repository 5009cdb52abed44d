"""Zones: who stands where, and for how long.

Occupancy is the number of tracked people whose foot point is inside the polygon in this frame.
A visit starts when a track's foot point enters and ends once it has been outside (or unseen) for
longer than the zone's `grace_s`, so a person briefly hidden behind another, or stepping over the
edge, is one visit and not two. Visit durations feed dwell statistics and queue wait estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge_agent.settings.cameras import ZoneSettings

from .counting import TrackPoint
from .geometry import point_in_polygon


@dataclass(frozen=True, slots=True)
class Visit:
    zone_id: str
    track_id: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class _Open:
    start: float
    last_inside: float


class ZoneMonitor:
    """Per-frame occupancy and completed visits for every configured zone."""

    def __init__(self, zones: Sequence[ZoneSettings]) -> None:
        self._zones = list(zones)
        self._open: dict[str, dict[int, _Open]] = {z.id: {} for z in zones}

    def update(self, ts: float, points: Iterable[TrackPoint]) -> tuple[dict[str, int], list[Visit]]:
        """Occupancy per zone for this frame, and the visits that ended with it."""
        pts = [p for p in points if p.confirmed]
        occupancy: dict[str, int] = {}
        ended: list[Visit] = []
        for z in self._zones:
            opened = self._open[z.id]
            count = 0
            for p in pts:
                if point_in_polygon(p.foot, z.points):
                    count += 1
                    v = opened.get(p.track_id)
                    if v is None:
                        opened[p.track_id] = _Open(ts, ts)
                    else:
                        v.last_inside = ts
            occupancy[z.id] = count
            for tid, v in list(opened.items()):
                if ts - v.last_inside > z.grace_s:
                    ended.append(Visit(z.id, tid, v.start, v.last_inside))
                    del opened[tid]
        return occupancy, ended

    def forget(self, track_ids: Iterable[int]) -> list[Visit]:
        """End the visits of tracks the tracker has dropped."""
        ended: list[Visit] = []
        for tid in track_ids:
            for zid, opened in self._open.items():
                v = opened.pop(tid, None)
                if v is not None:
                    ended.append(Visit(zid, tid, v.start, v.last_inside))
        return ended

    def open_visits(self) -> dict[str, int]:
        return {zid: len(o) for zid, o in self._open.items()}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), None for no values; no numpy needed."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
