"""Presence tracker fed synthetic sightings whose answers are worked out by hand."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import ValidationError

from drivers.ble.config import BeaconConfig
from drivers.ble.tracker import PresenceChange, PresenceTracker

UUID = "b9407f30-f5f8-466e-aff9-25556b57fe6d"


def tracker(smoothing: Literal["ema", "median"] = "ema") -> PresenceTracker:
    return PresenceTracker(
        ["badge"], enter_rssi=-70, leave_rssi=-80, leave_after_s=30, smoothing=smoothing,
        ema_alpha=0.5, median_window=3,
    )  # fmt: skip


def test_strong_first_sighting_enters_at_once() -> None:
    t = tracker()
    assert t.sighting("badge", -60, now=0) == PresenceChange("badge", "enter", -60.0)
    assert t.present() == {"badge": -60.0}


def test_one_strong_outlier_among_weak_sightings_does_not_enter() -> None:
    t = tracker()
    assert t.sighting("badge", -90, now=0) is None  # ema -90
    assert t.sighting("badge", -60, now=1) is None  # ema -75: still below -70
    assert t.present() == {}


def test_ema_crossing_enter_threshold_enters_with_smoothed_rssi() -> None:
    t = tracker()
    t.sighting("badge", -90, now=0)  # -90
    t.sighting("badge", -60, now=1)  # -75
    assert t.sighting("badge", -60, now=2) == PresenceChange("badge", "enter", -67.5)


def test_rssi_between_thresholds_keeps_present_beacon_present() -> None:
    t = tracker()
    t.sighting("badge", -60, now=0)
    for n in range(1, 10):
        assert t.sighting("badge", -78, now=n) is None  # hysteresis band: no flapping
    assert "badge" in t.present()


def test_smoothed_rssi_below_leave_threshold_leaves() -> None:
    t = tracker()
    t.sighting("badge", -60, now=0)  # -60
    t.sighting("badge", -100, now=1)  # -80: not below -80 yet
    assert t.sighting("badge", -100, now=2) == PresenceChange("badge", "leave", -90.0)


def test_silence_longer_than_leave_after_leaves() -> None:
    t = tracker()
    t.sighting("badge", -60, now=100)
    assert t.expire(now=130) == []  # exactly 30 s: not yet
    assert t.expire(now=130.5) == [PresenceChange("badge", "leave", None)]
    assert t.present() == {}
    assert t.expire(now=200) == []  # leaves once only


def test_beacon_back_after_silence_is_judged_on_fresh_sightings() -> None:
    t = tracker()
    t.sighting("badge", -100, now=0)  # weak history
    assert t.sighting("badge", -60, now=100) == PresenceChange("badge", "enter", -60.0)


def test_median_ignores_a_single_spike() -> None:
    t = tracker("median")
    t.sighting("badge", -90, now=0)
    t.sighting("badge", -88, now=1)
    assert t.sighting("badge", -40, now=2) is None  # median(-90, -88, -40) = -88
    # median(-88, -40, -60) = -60: two strong sightings in three do enter
    assert t.sighting("badge", -60, now=3) == PresenceChange("badge", "enter", -60.0)


def test_config_refuses_leave_threshold_above_enter() -> None:
    with pytest.raises(ValidationError, match="hysteresis"):
        BeaconConfig.model_validate(
            {"id": "b", "driver": "ble_beacons", "enter_rssi": -80, "leave_rssi": -70,
             "beacons": [{"id": "x", "ibeacon": {"uuid": UUID, "major": 1, "minor": 2}}]}
        )  # fmt: skip


def test_config_beacon_needs_exactly_one_identity() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        BeaconConfig.model_validate({"id": "b", "driver": "ble_beacons", "beacons": [{"id": "x"}]})
