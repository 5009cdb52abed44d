"""Multi-person tracker in the ByteTrack style, on real timestamps.

Confident detections are matched first (to visible and recently lost tracks), then the weak ones
rescue tracks that are still visible: a half-hidden person scores low but is still the same person.
A track is tentative until it has `min_hits` matches, so a one-frame false positive never gets an
id; a confirmed track that loses its detection is kept for `max_age_s` so a short occlusion does not
break its identity (a broken identity is what over-counts line crossings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge_agent.settings.cameras import TrackerSettings

from .appearance import blend, hist_distance, torso_hist
from .assoc import cost_matrix, greedy_assign
from .kalman import BoxKalman

Array = npt.NDArray[np.float64]
HIST_ALPHA = 0.3  # weight of the newest torso histogram in a track's running average


@dataclass(slots=True)
class Track:
    """A person as the tracker sees them. `box` is the filtered xyxy box in pixels."""

    id: int
    kf: BoxKalman
    score: float
    hits: int = 1
    confirmed: bool = False
    last_seen: float = 0.0
    lost_for: float = 0.0
    matched: bool = True  # matched in the latest update
    box: Array = field(default_factory=lambda: np.zeros(4))
    hist: Array | None = None  # torso colours (EMA), see appearance.py; never pixels


class Tracker:
    """Feed `update(ts, detections)` once per frame; read `tracks` afterwards."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        """`settings.appearance_weight` > 0 adds the torso-colour cue to ambiguous matches (on by
        default since round 4 in models/README.md: fewer identity switches and better counts on
        the wide and the closer views alike)."""
        self.cfg = settings or TrackerSettings()
        self.appearance_weight = self.cfg.appearance_weight
        self.tracks: list[Track] = []
        self.removed: list[int] = []  # ids dropped in the latest update
        self._next_id = 1
        self._last_ts: float | None = None
        self._frame: npt.NDArray[np.uint8] | None = None

    def update(
        self,
        ts: float,
        detections: npt.NDArray[np.floating],
        frame: npt.NDArray[np.uint8] | None = None,
    ) -> list[Track]:
        """Advance to `ts` and associate `detections` (N, 5) [x1, y1, x2, y2, score] in pixels.

        With `frame` (the image the detections came from) and `appearance_weight` > 0, ambiguous
        matches also compare torso colours; the frame is not kept past this call.
        """
        cfg = self.cfg
        self._frame = frame if self.appearance_weight > 0 else None
        dt = 0.0 if self._last_ts is None else max(ts - self._last_ts, 0.0)
        self._last_ts = ts
        dets = np.asarray(detections, dtype=np.float64).reshape(-1, 5)
        ok = np.isfinite(dets).all(axis=1) & (dets[:, 2] > dets[:, 0]) & (dets[:, 3] > dets[:, 1])
        dets = dets[ok & (dets[:, 4] >= cfg.low_score)]  # a bad box from a detector is dropped
        for t in self.tracks:
            t.kf.predict(dt)
            if not t.matched:
                t.kf.damp_velocity(0.9)
            t.box = t.kf.box()
            t.matched = False
        high = dets[dets[:, 4] >= cfg.high_score]
        low = dets[dets[:, 4] < cfg.high_score]

        confirmed = [t for t in self.tracks if t.confirmed]
        tentative = [t for t in self.tracks if not t.confirmed]
        # Stage 1: confident detections against every confirmed track, lost ones searching wider.
        left_high = self._match(confirmed, high, ts, cfg.match_iou, widen=True)
        # Stage 2: weak detections keep visible tracks alive (IoU only, strict).
        visible = [t for t in confirmed if not t.matched and t.lost_for == 0.0]
        self._match(visible, low, ts, 0.5, widen=False, distance=False)
        # Stage 3: remaining confident detections against tentative tracks.
        left_high = self._match(tentative, left_high, ts, cfg.match_iou, widen=False)

        self.removed = []
        kept: list[Track] = []
        for t in self.tracks:
            if not t.matched:
                t.lost_for = ts - t.last_seen
                limit = cfg.max_age_s if t.confirmed else cfg.tentative_age_s
                if t.lost_for > limit:
                    self.removed.append(t.id)
                    continue
            kept.append(t)
        for det in left_high:
            if det[4] >= cfg.new_track_score:
                kept.append(self._new_track(det, ts))
        self.tracks = kept
        self._frame = None
        return self.tracks

    def _match(
        self,
        tracks: list[Track],
        dets: Array,
        ts: float,
        min_iou: float,
        *,
        widen: bool,
        distance: bool = True,
    ) -> Array:
        if not tracks or len(dets) == 0:
            return dets
        boxes = np.array([t.box for t in tracks])
        if distance:
            reach = np.array(
                [self.cfg.match_distance * (1.0 + (t.lost_for if widen else 0.0)) for t in tracks]
            )
        else:
            reach = np.full(len(tracks), -1.0)
        cost = cost_matrix(boxes, dets[:, :4], min_iou, reach)
        hists = self._appearance(tracks, dets, cost)
        matches, _, left = greedy_assign(cost)
        for r, c in matches:
            t = tracks[r]
            if self._frame is not None:
                h = hists[c] if c in hists else torso_hist(self._frame, dets[c, :4])
                if h is not None:
                    t.hist = blend(t.hist, h, HIST_ALPHA)
            t.kf.update(dets[c, :4])
            t.box = t.kf.box()
            t.score = float(dets[c, 4])
            t.hits += 1
            t.matched = True
            t.last_seen = ts
            t.lost_for = 0.0
            if t.hits >= self.cfg.min_hits:
                t.confirmed = True
        return dets[left]

    def _appearance(self, tracks: list[Track], dets: Array, cost: Array) -> dict[int, Array | None]:
        """Add the colour cue, in place, where a detection is within reach of two tracks or more.

        Only those detections get a histogram: an unambiguous match needs no second opinion.
        """
        frame = self._frame
        hists: dict[int, Array | None] = {}
        if frame is None or cost.size == 0:
            return hists
        finite = np.isfinite(cost)
        amb = (finite.sum(axis=0) >= 2) | np.any(
            finite & (finite.sum(axis=1) >= 2)[:, None], axis=0
        )
        for c in np.flatnonzero(amb).tolist():
            h = hists[c] = torso_hist(frame, dets[c, :4])
            if h is None:
                continue
            for r in np.flatnonzero(finite[:, c]).tolist():
                th = tracks[r].hist
                if th is None:
                    continue
                cost[r, c] += self.appearance_weight * hist_distance(th, h)
        return hists

    def _new_track(self, det: Array, ts: float) -> Track:
        kf = BoxKalman(det[:4])
        t = Track(id=self._next_id, kf=kf, score=float(det[4]), last_seen=ts, box=kf.box())
        t.confirmed = self.cfg.min_hits <= 1
        if self._frame is not None:
            t.hist = torso_hist(self._frame, det[:4])
        self._next_id += 1
        return t
