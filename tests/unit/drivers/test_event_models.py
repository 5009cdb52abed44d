"""The models behind what drivers emit: they say what the wire carries, and drivers use them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from drivers.events import BUILTIN_EVENTS
from drivers.mdc.messages import _FAULT_BYTES, DisplayCheck
from drivers.sdk.events import Reading

DRIVERS = Path(__file__).resolve().parents[3] / "drivers"


def test_built_in_drivers_emit_events_only_through_their_models() -> None:
    # `ctx.emit_event(kind, {...})` by hand could send what no schema in docs/schemas/ describes.
    by_hand = [
        f"{path.relative_to(DRIVERS)}:{n}"
        for path in DRIVERS.rglob("*.py")
        if "sdk" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\.emit_event\(", line)
    ]
    assert by_hand == []


def test_every_event_model_has_its_own_kind() -> None:
    kinds = [model.KIND for model in BUILTIN_EVENTS]
    assert len(kinds) == len(set(kinds))


def test_display_fault_names_are_every_check_the_codec_decodes() -> None:
    assert set(get_args(DisplayCheck)) == set(_FAULT_BYTES)


def test_a_reading_keeps_its_value_type_and_omits_a_missing_unit() -> None:
    assert Reading(name="relays.relay_1", value=False).data() == {
        "name": "relays.relay_1",
        "value": False,
    }
    counter = 2**63 + 5
    assert Reading(name="m.energy", value=counter, unit="Wh").data()["value"] == counter
    assert Reading(name="co2", value=451.5, unit="ppm").data() == {
        "name": "co2",
        "value": 451.5,
        "unit": "ppm",
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf"), None, [1]])
def test_a_reading_no_json_consumer_could_parse_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        Reading(name="x", value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["reading", "state", "acme/overheat", "Acme", "x" * 64])
def test_an_event_model_whose_kind_cannot_name_an_event_is_refused_where_it_is_defined(
    kind: str,
) -> None:
    # So a plugin's module fails to import and `config check` names the class, rather than the
    # daemon dropping every such event at run time.
    from typing import ClassVar

    from drivers.sdk.events import EventData

    with pytest.raises(TypeError, match=r"\.Bad\.KIND: event kind "):

        class Bad(EventData):
            KIND: ClassVar[str] = kind


def test_every_built_in_event_kind_is_one_a_driver_may_use() -> None:
    from drivers.sdk.events import event_kind_problem

    assert [m.KIND for m in BUILTIN_EVENTS if event_kind_problem(m.KIND)] == []
