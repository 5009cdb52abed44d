"""Line crossings: the footfall convention other tools rely on.

`in` counts foot-point crossings that end on the side where cross(B - A, P - A) > 0, `out` the
opposite. A crossing counts only when the foot point goes from beyond -band to beyond +band and the
path met the line within the segment (a person first seen close to the line is placed on a side by
the line's own `band`, not the wider band that scales with their height). A track cannot flip
direction within `debounce_s` of its last count, so jitter on the line is not counted twice.
Someone who steps over the line and stops just past it, inside the band (the first place in a
queue, a look at a screen by the door), has crossed too: a foot point that stays past the line's
own `band`, on the far side, for `SETTLE_S` counts as well.
Crossings of tracks that are not yet confirmed are held back and released once the track is
confirmed, so a person is not lost to the tracker's warm-up, and a false track that dies young is
never counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from edge_agent.settings.cameras import LineSettings

from .geometry import Point, crossing_param, signed_distance

Direction = Literal["in", "out"]
STREAK = 2  # sightings beyond the band, on the far side, before a crossing counts
SETTLE_S = 1.0  # ...or this long past the line's own band, on the far side, without leaving it
BAND_HEIGHT_FLOOR = 0.1  # the band is never narrower than this share of the person's box height
STITCH_S = 2.5  # a new track may take over the line state of a track unseen for up to this long
STITCH_REACH = (0.7, 1.0)  # ...whose last foot point is within (a + b * gap seconds) box heights
STITCH_RATIO = 1.6  # ...and whose box was about as tall: a near person is not a far one found again


@dataclass(frozen=True, slots=True)
class Crossing:
    line_id: str
    direction: Direction
    track_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """What the counters need from a tracked person in one frame."""

    track_id: int
    foot: Point
    confirmed: bool
    height: float = 0.0  # normalised box height: foot-point noise grows with the person's size


@dataclass(slots=True)
class _State:
    side: int = 0  # -1, +1, or 0 while not yet beyond the band
    last: Point | None = None
    cross_t: float | None = None  # where the path last met the line, along A->B
    last_count_ts: float | None = None
    streak: int = 0  # consecutive sightings beyond the band on the far side
    last_ts: float = 0.0
    confirmed: bool = False
    height: float = 0.0  # box height at `last`
    past_since: float | None = None  # past the line's own band, on the far side, since then


@dataclass(slots=True)
class _Line:
    cfg: LineSettings
    a: Point
    b: Point
    states: dict[int, _State] = field(default_factory=dict)


class LineCounter:
    """Counts crossings of every configured line by every track, with running totals."""

    def __init__(self, lines: Sequence[LineSettings], *, stitch: bool = True) -> None:
        self._lines = [
            _Line(cfg, (cfg.points[0][0], cfg.points[0][1]), (cfg.points[1][0], cfg.points[1][1]))
            for cfg in lines
        ]
        self._pending: dict[int, list[Crossing]] = {}
        self._stitch = stitch
        self.totals: dict[str, dict[str, int]] = {ln.id: {"in": 0, "out": 0} for ln in lines}

    def update(
        self, ts: float, points: Iterable[TrackPoint], aspect: float = 1.0
    ) -> list[Crossing]:
        """Feed the foot points of tracks seen in this frame; return newly counted crossings.

        `aspect` is the picture's width / height: foot points are in fractions of each, so a
        distance across the picture is measured in frame heights like the people's boxes are.
        """
        out: list[Crossing] = []
        for tp in points:
            found = [
                c
                for line in self._lines
                if (c := self._step(line, tp, ts, self._stitch, aspect)) is not None
            ]
            if not tp.confirmed:
                self._pending.setdefault(tp.track_id, []).extend(found)
                continue
            out.extend(self._pending.pop(tp.track_id, []))
            out.extend(found)
        for c in out:
            self.totals[c.line_id][c.direction] += 1
        return out

    def forget(self, track_ids: Iterable[int]) -> list[Crossing]:
        """Drop removed tracks; return crossings they had begun and ended the track with.

        A person who steps over the line and straight out of view is seen beyond it only once:
        their crossing counts when the tracker gives up on them. Held-back crossings of tracks that
        were never confirmed die with them.
        """
        out: list[Crossing] = []
        for tid in track_ids:
            self._pending.pop(tid, None)
            for line in self._lines:
                st = line.states.pop(tid, None)
                if st is not None and st.streak > 0 and st.confirmed:
                    c = self._commit(line, st, -st.side, st.last_ts, tid)
                    if c is not None:
                        out.append(c)
        for c in out:
            self.totals[c.line_id][c.direction] += 1
        return out

    @classmethod
    def _step(
        cls, line: _Line, tp: TrackPoint, ts: float, stitch: bool, aspect: float
    ) -> Crossing | None:
        st = line.states.get(tp.track_id)
        if st is None:
            st = line.states[tp.track_id] = (
                cls._inherit(line, tp, ts, aspect) if stitch else _State()
            )
        p = tp.foot
        if st.last is not None:
            before = signed_distance(line.a, line.b, st.last) >= 0
            now = signed_distance(line.a, line.b, p) >= 0
            if before != now:
                st.cross_t = crossing_param(line.a, line.b, st.last, p)
        st.last = p
        st.last_ts = ts
        st.height = tp.height
        st.confirmed = tp.confirmed
        d = signed_distance(line.a, line.b, p)
        band = max(line.cfg.band, max(line.cfg.band_height, BAND_HEIGHT_FLOOR) * tp.height)
        if st.side == 0:
            # Where a person first shows up, the line's own band is enough to say which side they
            # are on; the wider band guards against jitter across the line once they are placed.
            st.side = 1 if d > line.cfg.band else -1 if d < -line.cfg.band else 0
            return None
        new_side = 1 if d > band else -1 if d < -band else 0
        if d * st.side < -line.cfg.band:  # past the line, beyond its own band
            st.past_since = ts if st.past_since is None else st.past_since
            if new_side == 0 and ts - st.past_since >= SETTLE_S:
                return cls._commit(line, st, -st.side, ts, tp.track_id)  # stopped just past it
        else:
            st.past_since = None
        if new_side in (0, st.side):
            st.streak = 0
            return None
        st.streak += 1
        if st.streak < STREAK:
            return None  # one odd box (merged with a neighbour, a bad bottom edge) is no crossing
        return cls._commit(line, st, new_side, ts, tp.track_id)

    @staticmethod
    def _inherit(line: _Line, tp: TrackPoint, ts: float, aspect: float) -> _State:
        """A new track near where another one was just lost carries on that track's line state.

        The tracker breaks an identity when a person is missed for a while; without this, a person
        lost on one side of the line and found again on the other is never counted.
        """
        best: tuple[float, int] | None = None
        for tid, old in line.states.items():
            gap = ts - old.last_ts
            if old.last is None or old.side == 0 or not 0 < gap <= STITCH_S:
                continue
            if _ratio(old.height, tp.height) >= STITCH_RATIO:
                continue
            dx, dy = (old.last[0] - tp.foot[0]) * aspect, old.last[1] - tp.foot[1]
            dist = (dx * dx + dy * dy) ** 0.5  # in frame heights, as `tp.height` is
            reach = max(tp.height, 0.05) * (STITCH_REACH[0] + STITCH_REACH[1] * gap)
            if dist <= reach and (best is None or dist < best[0]):
                best = (dist, tid)
        if best is None:
            return _State()
        old = line.states.pop(best[1])
        return _State(
            side=old.side, last=old.last, cross_t=old.cross_t, last_count_ts=old.last_count_ts
        )

    @staticmethod
    def _commit(
        line: _Line, st: _State, new_side: int, ts: float, track_id: int
    ) -> Crossing | None:
        if st.last_count_ts is not None and ts - st.last_count_ts < line.cfg.debounce_s:
            return None  # jitter just after a count: keep the counted side for now
        st.side = new_side
        st.streak = 0
        st.past_since = None
        t = st.cross_t
        st.cross_t = None
        if t is None or not 0.0 <= t <= 1.0:
            return None  # went round the end of the segment
        st.last_count_ts = ts
        return Crossing(line.cfg.id, "in" if new_side > 0 else "out", track_id, ts)


def _ratio(a: float, b: float) -> float:
    """How many times taller the taller box is; 1.0 where a height is unknown (0)."""
    lo, hi = min(a, b), max(a, b)
    return hi / lo if lo > 0 else 1.0
