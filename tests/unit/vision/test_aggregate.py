"""Per-minute summaries and queue alerts, as headquarters receives them."""

from __future__ import annotations

from edge_agent.settings.cameras import CameraSettings
from edge_agent.store.items import ItemClass, NewItem
from edge_agent.vision.aggregate import Aggregator
from edge_agent.vision.pipeline import FrameResult

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)
SQ = [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]


def cam(**kw: object) -> CameraSettings:
    base: dict[str, object] = {
        "id": "entrance",
        "source": "x.avi",
        "lines": [{"id": "door", "points": [[0.5, 0.1], [0.5, 0.9]]}],
        "zones": [
            {"id": "lobby", "points": SQ, "capacity": 10},
            {"id": "q", "kind": "queue", "points": SQ, "alert": {"length": 3, "minutes": 2}},
        ],
    }
    base.update(kw)
    return CameraSettings.model_validate(base)


def frame(
    ts: float, people: int = 0, zones: dict[str, int] | None = None, **kw: object
) -> FrameResult:
    return FrameResult(frame=0, ts=ts, people=people, zones=zones or {}, **kw)  # type: ignore[arg-type]


def run(frames: list[FrameResult], settings: CameraSettings | None = None) -> list[NewItem]:
    items: list[NewItem] = []
    agg = Aggregator(settings or cam(), items.append)
    agg.set_state("ok", "ok")
    for f in frames:
        agg.add(f)
    agg.close()
    return items


def of(items: list[NewItem], kind: str) -> list[NewItem]:
    return [i for i in items if i.kind == kind]


def test_crossings_are_summed_per_minute_and_line() -> None:
    frames = [
        frame(T0 + 1, crossings=[("door", "in", 1, T0 + 1)]),
        frame(T0 + 2, crossings=[("door", "in", 2, T0 + 2), ("door", "out", 3, T0 + 2)]),
        frame(T0 + 61, crossings=[("door", "out", 4, T0 + 61)]),
    ]
    foot = of(run(frames), "footfall")
    assert [(i.ts, i.data["lines"]["door"]) for i in foot] == [
        (T0, {"in": 2, "out": 1}),
        (T0 + 60, {"in": 0, "out": 1}),
    ]
    assert all(i.cls is ItemClass.SUMMARY and i.device == "entrance" for i in foot)


def at_10fps(start: float, end: float, **kw: object) -> list[FrameResult]:
    return [frame(start + k / 10, **kw) for k in range(round((end - start) * 10))]


def test_a_minute_watched_whole_is_not_partial_and_one_cut_short_by_a_stop_is() -> None:
    items = run(at_10fps(T0, T0 + 90))  # the service stops half-way through the second minute
    assert [("partial" in c.data, c.data.get("partial")) for c in of(items, "camera")] == [
        (False, None),
        (True, True),
    ]
    assert [f.data.get("partial") for f in of(items, "footfall")] == [None, True]


def test_the_first_minute_after_a_start_part_way_through_it_is_partial() -> None:
    # HQ must not read the 30 s an agent watched after a start or reload as a whole quiet minute.
    items = run(at_10fps(T0 + 30, T0 + 120))
    assert [c.data.get("partial") for c in of(items, "occupancy")] == [True, None]


def test_a_minute_with_a_long_break_in_the_frames_is_partial() -> None:
    items = run(at_10fps(T0, T0 + 20) + at_10fps(T0 + 40, T0 + 60) + at_10fps(T0 + 60, T0 + 120))
    assert [c.data.get("partial") for c in of(items, "camera")] == [True, None]


def test_occupancy_mean_and_max_per_zone() -> None:
    frames = [
        frame(T0 + i, people=n, zones={"lobby": n, "q": 0}) for i, n in enumerate([1, 3, 2, 2])
    ]
    (occ,) = of(run(frames), "occupancy")
    assert occ.data["zones"]["lobby"] == {"mean": 2.0, "max": 3}
    assert occ.data["people"] == {"mean": 2.0, "max": 3}


def test_dwell_percentiles_come_from_visits_that_ended_in_the_minute() -> None:
    visits = [("lobby", T0, T0 + d) for d in (10.0, 20.0, 30.0, 40.0, 50.0)]
    (dwell,) = of(run([frame(T0 + 55, visits=visits)]), "dwell")
    assert dwell.data["zones"]["lobby"] == {"visits": 5, "p50_s": 30.0, "p90_s": 46.0}


def test_queue_wait_estimate_carries_over_minutes() -> None:
    frames = [
        frame(T0 + 5, zones={"q": 2}, visits=[("q", T0 - 100, T0 + 5), ("q", T0 - 60, T0 + 5)]),
        frame(T0 + 65, zones={"q": 1}),
    ]
    queues = of(run(frames), "queue")
    assert queues[0].data["zones"]["q"]["wait_p50_s"] == 85.0
    assert queues[1].data["zones"]["q"]["wait_p50_s"] == 85.0
    assert queues[1].data["zones"]["q"]["served"] == 0


def test_queue_over_threshold_for_the_configured_minutes_raises_one_alert_then_clears() -> None:
    lengths = [4, 4, 5, 4, 0]  # two minutes over 3 -> raised once; the fifth minute clears it
    frames = [frame(T0 + 60 * m + 1, zones={"q": n, "lobby": 0}) for m, n in enumerate(lengths)]
    alerts = of(run(frames), "queue_alert")
    assert [(a.cls, a.data["state"], a.ts) for a in alerts] == [
        (ItemClass.EVENT, "raised", T0 + 120),
        (ItemClass.EVENT, "cleared", T0 + 300),
    ]


def test_busyness_is_the_fullest_zone_ratio() -> None:
    frames = [frame(T0 + 1, zones={"lobby": 5, "q": 0})]
    (camera,) = of(run(frames), "camera")
    assert camera.data["busyness"] == 50


def test_busyness_is_null_without_capacities_or_waits() -> None:
    settings = cam(zones=[{"id": "a", "points": SQ}])
    (camera,) = of(run([frame(T0 + 1, zones={"a": 4})], settings), "camera")
    assert camera.data["busyness"] is None


def test_a_camera_that_is_down_still_reports_its_minutes() -> None:
    items: list[NewItem] = []
    agg = Aggregator(cam(), items.append)
    agg.set_state("down", "no_signal")
    agg.tick(T0 + 30)
    agg.tick(T0 + 90)
    cams = of(items, "camera")
    assert cams
    assert cams[-1].data["reason"] == "no_signal"
    assert cams[-1].data["frames"] == 0
    # No counts for a minute nobody watched: a dashboard shows a gap, not zero visitors.
    assert {i.kind for i in items} == {"camera"}
    assert cams[-1].data["busyness"] is None


def test_frames_that_lag_the_clock_give_one_summary_per_minute_and_lose_no_crossing() -> None:
    """The daemon's clock ticks the aggregator while frames arrive from the worker a little late
    (and now and then very late): each minute still goes upstream once, with all its frames."""
    items: list[NewItem] = []
    agg = Aggregator(cam(), items.append)
    agg.set_state("ok", "ok")
    for k in range(3 * 600):  # three minutes at 10 fps, each frame handed over 3 s after capture
        ts = T0 + k / 10
        crossings = [("door", "in", k, ts)] if k % 100 == 0 else []
        agg.add(frame(ts, people=1, crossings=crossings))
        agg.tick(ts + 3.0)
    agg.add(frame(T0 + 120.5, crossings=[("door", "out", 9, T0 + 120.5)]))  # 60 s late
    agg.tick(T0 + 181.0)
    agg.add(frame(T0 + 181.5))
    agg.tick(T0 + 250.0)

    cams = of(items, "camera")
    assert [c.ts for c in cams] == [T0, T0 + 60, T0 + 120, T0 + 180], "one record a minute"
    assert [c.data["frames"] for c in cams[:2]] == [600, 600]
    foot = of(items, "footfall")
    assert sum(f.data["lines"]["door"]["in"] for f in foot) == 18
    assert sum(f.data["lines"]["door"]["out"] for f in foot) == 1, "the late crossing counts"


def test_a_clock_set_back_an_hour_closes_the_minute_and_counts_on_by_the_new_clock() -> None:
    """NTP puts a clock that ran an hour fast right while the camera counts: each minute after
    the step still goes upstream within seconds of its end, with its own crossings."""
    items: list[NewItem] = []
    agg = Aggregator(cam(), items.append)
    agg.set_state("ok", "ok")
    for k in range(300):  # 30 s at 10 fps, then the clock is set back an hour
        ts = T0 + k / 10
        agg.add(frame(ts, people=1, crossings=[("door", "in", k, ts)] if k % 50 == 0 else []))
        agg.tick(ts)
    for k in range(1500):  # 150 s by the new clock
        ts = T0 - 3570 + k / 10
        agg.add(frame(ts, people=1, crossings=[("door", "out", k, ts)] if k % 50 == 0 else []))
        agg.tick(ts)

    cams = of(items, "camera")
    assert [c.ts for c in cams] == [T0, T0 - 3600, T0 - 3540]
    foot = of(items, "footfall")
    assert [f.data.get("partial") for f in foot] == [True, True, None]
    assert [f.data["lines"]["door"] for f in foot] == [
        {"in": 6, "out": 0},
        {"in": 0, "out": 6},
        {"in": 0, "out": 12},
    ]


def test_a_frame_captured_before_the_clock_was_set_back_counts_in_the_minute_in_hand() -> None:
    items: list[NewItem] = []
    agg = Aggregator(cam(), items.append)
    agg.set_state("ok", "ok")
    for k in range(300):
        agg.add(frame(T0 + k / 10, people=1))
        agg.tick(T0 + k / 10)
    agg.tick(T0 - 3570)  # the clock is set back an hour; the service ticks by it
    late = T0 + 30.0  # the worker hands over a frame it captured just before the step
    agg.add(frame(late, people=1, crossings=[("door", "in", 7, late)]))
    for k in range(1, 900):
        agg.add(frame(T0 - 3570 + k / 10, people=1))
        agg.tick(T0 - 3570 + k / 10)

    cams = of(items, "camera")
    assert [c.ts for c in cams] == [T0, T0 - 3600], "no minute reopened"
    assert sum(f.data["lines"]["door"]["in"] for f in of(items, "footfall")) == 1
    assert cams[1].data["fps"] == 10.0, "the late frame's own time does not skew the minute"


def test_a_camera_down_from_the_start_reports_no_minute_before_it_started() -> None:
    items: list[NewItem] = []
    agg = Aggregator(cam(), items.append)
    agg.set_state("down", "no_signal")
    agg.tick(T0 + 10)
    agg.tick(T0 + 30)
    assert of(items, "camera") == []
    agg.tick(T0 + 70)
    assert [c.ts for c in of(items, "camera")] == [T0]


def test_faces_are_reported_as_counts_only() -> None:
    frames = [frame(T0 + 1, faces=2), frame(T0 + 2, faces=0)]
    (camera,) = of(run(frames), "camera")
    assert camera.data["faces_seen"] == {"max": 2, "mean": 1.0}


def test_the_minute_says_how_many_close_ups_the_camera_could_afford() -> None:
    # HQ compares branches: a PC whose cameras take no close-ups counts hidden people less well.
    frames = [
        frame(T0 + 1, detected=True, close_ups=2),
        frame(T0 + 1.3, detected=True, close_ups=0),
        frame(T0 + 1.6, detected=True, close_ups=1),
    ]
    (camera,) = of(run(frames), "camera")
    assert camera.data["detector_runs"] == 3
    assert camera.data["close_ups"] == 3


def test_every_record_matches_its_published_schema() -> None:
    # HQ parses these with docs/schemas/summary-*.json and event-*.json: check the real records.
    import json

    import jsonschema

    from edge_agent.uplink.schemas import SCHEMA_DIR

    frames = [
        frame(
            T0 + 60 * m + s,
            people=2,
            zones={"lobby": 2, "q": 4},
            crossings=[("door", "in", 1, T0 + 60 * m + s)] if s == 3 else [],
            visits=[("q", T0 + 60 * m, T0 + 60 * m + s)] if s == 5 else [],
            faces=1,
        )
        for m in range(3)
        for s in range(0, 60, 1)
    ]
    items = run(frames)
    kinds = {i.kind for i in items}
    assert kinds == {"footfall", "occupancy", "dwell", "queue", "camera", "queue_alert"}
    for item in items:
        prefix = "summary" if item.cls is ItemClass.SUMMARY else "event"
        name = f"{prefix}-{item.kind.replace('_', '-')}.json"
        jsonschema.validate(item.data, json.loads((SCHEMA_DIR / name).read_text()))
    bad = dict(of(items, "footfall")[0].data, lines={"door": {"in": 1}})
    try:
        jsonschema.validate(bad, json.loads((SCHEMA_DIR / "summary-footfall.json").read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("a line without its `out` count must not validate")
