"""A register-map file from site, however broken, gives a ProfileError that names the file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.modbus.errors import ProfileError
from drivers.modbus.profile import Point, Profile, load_profile

GOOD = "name: meter\npoints:\n  - {name: voltage, address: 0, function: input, type: float32}\n"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (GOOD.replace("meter", "m\xe9ter").encode("latin-1"), "not UTF-8 text (line 1)"),
        (GOOD.replace("address: 0", "address: !!timestamp 2020-13-45").encode(), "month"),
        (GOOD.replace("address: 0", "address: !!bool maybe").encode(), "!!` tags"),
        (GOOD.replace("address: 0", f"address: {'9' * 5000}").encode(), "4300 digits"),
        (GOOD.replace("name: voltage", f"name: 0x{'f' * 3600}").encode(), "point '#1' name"),
        ((GOOD + "#" * 2**20).encode(), "larger than the 1 MiB limit"),
    ],
    ids=[
        "latin-1 bytes",
        "impossible date",
        "bool that is not one",
        "5000-digit address",
        "point named by a 3600-digit hex number",
        "over 1 MiB",
    ],
)
def test_a_profile_file_that_cannot_be_read_names_the_file(
    tmp_path: Path, raw: bytes, words: str
) -> None:
    path = tmp_path / "meter.yaml"
    path.write_bytes(raw)
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert info.value.message.startswith(f"profile {path}: "), info.value.message
    assert words in info.value.message


def test_a_point_that_cannot_work_is_said_in_our_words(tmp_path: Path) -> None:
    path = tmp_path / "meter.yaml"
    path.write_text(GOOD.replace("type: float32}", "type: float32, min: 5, max: 1}"))
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert "point 'voltage': min 5.0 is above max 1.0" in info.value.message, info.value.message
    assert "Value error" not in info.value.message, "pydantic's prefix, not ours"


VALUES = st.sampled_from(
    [
        *("0", "1", "-1", "65535", "65536", "0x10", "1.5", ".nan", ".inf", "~", "''", "x"),
        *("voltage", "input", "holding", "coil", "float32", "bool", "[]", "{}", '"\\0"'),
        *("!!timestamp 2020-13-45", "!!bool maybe", "!!int ''", "!!int x", "!!float x"),
        *("!!omap x", "!!binary aGk=", "!!set {a}", "!!str 1", "!local x", "9" * 4301),
        "0x" + "f" * 3600,
    ]
) | st.text(max_size=8).map(json.dumps)
POINTS = st.lists(
    st.dictionaries(st.sampled_from([*Point.model_fields, "other"]), VALUES, max_size=6),
    max_size=3,
).map(lambda points: "[" + ", ".join(_flow(p) for p in points) + "]")
MUTATED_POINTS = st.lists(  # good points, p0 at 0, p1 at 2..., with a field or two changed
    st.dictionaries(st.sampled_from([*Point.model_fields, "other"]), VALUES, max_size=1),
    min_size=1,
    max_size=3,
).map(
    lambda changes: (
        "["
        + ", ".join(
            _flow(
                {
                    "name": f"p{i}",
                    "address": str(2 * i),
                    "function": "input",
                    "type": "float32",
                    **c,
                }
            )
            for i, c in enumerate(changes)
        )
        + "]"
    )
)
PROFILES = st.dictionaries(
    st.sampled_from([*Profile.model_fields, "other"]), VALUES | POINTS | MUTATED_POINTS, max_size=5
).map(lambda fields: "\n".join(f"{k}: {v}" for k, v in fields.items()) + "\n")
MUTATED_PROFILES = MUTATED_POINTS.map(lambda points: f"name: meter\npoints: {points}\n")


def _flow(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        PROFILES.map(str.encode),
        MUTATED_PROFILES.map(str.encode),
    )
)
def test_any_profile_file_loads_or_gives_a_profile_error_naming_it(
    tmp_path: Path, raw: bytes
) -> None:
    # load_profile caches by path and mtime: a name per content keeps one example from the last
    path = tmp_path / f"site-{hashlib.sha256(raw).hexdigest()[:16]}.yaml"
    path.write_bytes(raw)
    try:
        profile = load_profile(str(path))
    except ProfileError as exc:
        assert str(path) in exc.message, exc.message
        return
    assert isinstance(profile, Profile) and profile.points


def test_a_hand_written_profiles_slips_read_as_the_config_loaders_words(tmp_path: Path) -> None:
    path = tmp_path / "meter.yaml"
    path.write_text(
        "name: meter\nregisters: []\n"
        "points:\n  - {name: voltage, function: input, type: float32, scal: 0.1}\n"
    )
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert info.value.message == (
        f"profile {path}: point 'voltage' address: required key is missing; "
        "point 'voltage' scal: unknown key; registers: unknown key"
    )
    path.write_text("name: meter\npoints: []\n")
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert info.value.message == f"profile {path}: points: give at least one"
