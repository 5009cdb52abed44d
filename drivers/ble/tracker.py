"""Presence from noisy RSSI: smoothing plus enter/leave hysteresis, on an injected clock.

A badge on a desk fluctuates by 5-10 dB from one advertisement to the next. Smoothing stops
single outliers from flipping presence, and the gap between `enter_rssi` and `leave_rssi` stops a
beacon sitting on the threshold from flapping. A beacon that falls silent leaves after
`leave_after_s` whatever its last RSSI was.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class PresenceChange:
    beacon: str
    state: Literal["enter", "leave"]
    rssi: float | None  # smoothed dBm at the moment of change; None when left by silence


@dataclass
class _Track:
    samples: deque[int] = field(default_factory=deque)
    ema: float | None = None
    last_seen: float | None = None
    present: bool = False


class PresenceTracker:
    """Feed sightings in, read changes out. Time always comes from the caller."""

    def __init__(
        self,
        beacon_ids: list[str],
        *,
        enter_rssi: float,
        leave_rssi: float,
        leave_after_s: float,
        smoothing: Literal["ema", "median"] = "ema",
        ema_alpha: float = 0.3,
        median_window: int = 5,
    ) -> None:
        self._enter, self._leave, self._after = enter_rssi, leave_rssi, leave_after_s
        self._mode, self._alpha, self._window = smoothing, ema_alpha, median_window
        self._tracks = {b: _Track(samples=deque(maxlen=median_window)) for b in beacon_ids}

    def _smooth(self, track: _Track, rssi: int) -> float:
        if self._mode == "median":
            track.samples.append(rssi)
            return float(statistics.median(track.samples))
        track.ema = (
            rssi if track.ema is None else self._alpha * rssi + (1 - self._alpha) * track.ema
        )
        return track.ema

    def sighting(self, beacon: str, rssi: int, now: float) -> PresenceChange | None:
        """Record one advertisement heard at `rssi` dBm."""
        track = self._tracks[beacon]
        if track.last_seen is not None and now - track.last_seen > self._after:
            self._forget(track)  # an old average says nothing about a beacon just back in range
        track.last_seen = now
        smoothed = self._smooth(track, rssi)
        if not track.present and smoothed >= self._enter:
            track.present = True
            return PresenceChange(beacon, "enter", round(smoothed, 1))
        if track.present and smoothed < self._leave:
            track.present = False
            return PresenceChange(beacon, "leave", round(smoothed, 1))
        return None

    def expire(self, now: float) -> list[PresenceChange]:
        """Beacons unheard for longer than `leave_after_s` leave."""
        changes = []
        for beacon, track in self._tracks.items():
            if (
                track.present
                and track.last_seen is not None
                and now - track.last_seen > self._after
            ):
                self._forget(track)
                changes.append(PresenceChange(beacon, "leave", None))
        return changes

    @staticmethod
    def _forget(track: _Track) -> None:
        track.samples.clear()
        track.ema = None
        track.present = False

    def present(self) -> dict[str, float]:
        """Beacon id -> smoothed RSSI of every beacon currently present."""
        out = {}
        for beacon, track in self._tracks.items():
            if track.present:
                value = track.ema if self._mode == "ema" else statistics.median(track.samples)
                out[beacon] = round(float(value or 0.0), 1)
        return out
