"""Register values, profiles, the device config, read planning and the per-unit breaker."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from drivers import registry
from drivers.modbus.blocks import plan_reads
from drivers.modbus.breaker import Breaker
from drivers.modbus.config import ModbusConfig
from drivers.modbus.errors import ProfileError, ValueCodecError
from drivers.modbus.profile import Point, builtin_names, load_profile
from drivers.modbus.values import decode_registers, encode_registers, integer_range, register_count

TYPES = ["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
orders = st.sampled_from(["big", "little"])


def test_sdm_float32_registers_decode_to_volts() -> None:
    # 230.5 V as IEEE-754 float32 is 0x43668000: high word first on Eastron meters.
    assert decode_registers([0x4366, 0x8000], "float32") == 230.5
    assert decode_registers([0x8000, 0x4366], "float32", word_order="little") == 230.5
    assert decode_registers([0x6643, 0x0080], "float32", byte_order="little") == 230.5


@given(st.data(), st.sampled_from(TYPES), orders, orders)
def test_value_round_trips_through_registers(
    data: st.DataObject, data_type: str, wo: str, bo: str
) -> None:
    if data_type.startswith("float"):
        value: float = data.draw(
            st.floats(allow_nan=False, allow_infinity=False, width=int(data_type[5:]))
        )
    else:
        low, high = integer_range(data_type)  # type: ignore[arg-type]
        value = data.draw(st.integers(low, high))
    registers = encode_registers(value, data_type, wo, bo)  # type: ignore[arg-type]
    assert len(registers) == register_count(data_type)  # type: ignore[arg-type]
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode_registers(registers, data_type, wo, bo) == value  # type: ignore[arg-type]


@given(st.sampled_from(TYPES), st.lists(st.integers(-70000, 70000), max_size=6), orders, orders)
def test_any_registers_decode_or_raise_value_codec_error(
    data_type: str, regs: list[int], wo: str, bo: str
) -> None:
    try:
        value = decode_registers(regs, data_type, wo, bo)  # type: ignore[arg-type]
    except ValueCodecError:
        return
    assert isinstance(value, int | float)


@given(st.sampled_from(TYPES), st.one_of(st.integers(), st.floats()), orders, orders)
def test_any_value_encodes_or_raises_value_codec_error(
    data_type: str, value: float, wo: str, bo: str
) -> None:
    try:
        registers = encode_registers(value, data_type, wo, bo)  # type: ignore[arg-type]
    except ValueCodecError:
        return
    assert all(0 <= r <= 0xFFFF for r in registers)


@given(st.floats(-3276.8, 3276.7))
def test_scaled_point_round_trips_to_a_tenth(value: float) -> None:
    point = Point(name="temperature", address=0, function="holding", type="int16", scale=0.1)
    assert abs(point.decode(point.encode(value)) - value) <= 0.05 + 1e-9  # type: ignore[operator]


@given(
    st.sampled_from(TYPES),
    st.sampled_from([1.0, 0.1, -0.01, 1e-300, 1e300]),
    st.floats(),
    orders,
)
def test_any_point_value_encodes_or_raises_value_codec_error(
    data_type: str, scale: float, value: float, order: str
) -> None:
    point = Point(
        name="setpoint",
        address=0,
        function="holding",
        type=data_type,  # type: ignore[arg-type]
        scale=scale,
        word_order=order,  # type: ignore[arg-type]
        writable=True,
    )
    try:
        registers = point.encode(value)
    except ValueCodecError as exc:
        assert exc.message.startswith("setpoint: ")
        return
    assert len(registers) == point.count


@pytest.mark.parametrize(
    ("scale", "written", "shown"),
    [(1.0, 2.5, 3), (1.0, -2.5, -3), (1.0, 3.5, 4), (0.1, 0.15, 0.2), (0.1, 21.55, 21.6)],
)
def test_a_value_halfway_between_steps_goes_up_as_on_a_calculator(
    scale: float, written: float, shown: float
) -> None:
    # Python's round() sends halves to the even step (2.5 -> 2), and 0.15 is stored as a binary
    # float just below 0.15: both would write a setpoint one step short of what was typed.
    point = Point(
        name="setpoint", address=0, function="holding", type="int16", scale=scale, writable=True
    )
    assert point.decode(point.encode(written)) == shown


def test_scaled_write_outside_the_type_is_refused() -> None:
    point = Point(
        name="temperature", address=0, function="holding", type="int16", scale=0.1, writable=True
    )
    with pytest.raises(ValueCodecError, match="outside"):
        point.encode(5000.0)


def test_meter_sending_nan_is_a_codec_error_not_a_reading() -> None:
    point = Point(name="voltage", address=0, function="input", type="float32")
    nan = struct.unpack(">HH", struct.pack(">f", math.nan))
    with pytest.raises(ValueCodecError):
        point.decode(list(nan))


@pytest.mark.parametrize("name", ["sdm120", "sdm630", "relay8", "env_sensor"])
def test_builtin_profiles_load(name: str) -> None:
    assert name in builtin_names()
    assert load_profile(name).points


def test_sdm120_profile_has_the_eastron_addresses() -> None:
    points = {p.name: p for p in load_profile("sdm120").points}
    expected = {
        "voltage": 0x00,
        "current": 0x06,
        "active_power": 0x0C,
        "frequency": 0x46,
        "import_energy": 0x48,
    }
    assert {n: points[n].address for n in expected} == expected
    assert all(points[n].type == "float32" and points[n].function == "input" for n in expected)


def test_bad_profile_error_names_file_and_point(tmp_path: Path) -> None:
    path = tmp_path / "meter.yaml"
    path.write_text(
        "name: meter\npoints:\n"
        "  - {name: voltage, address: 0, function: input, type: float32}\n"
        "  - {name: relay, address: 1, function: input, type: bool}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as info:
        load_profile(str(path))
    assert str(path) in info.value.message
    assert "point 'relay'" in info.value.message


def test_unknown_builtin_profile_lists_the_builtins() -> None:
    with pytest.raises(ProfileError, match="sdm120"):
        load_profile("sdm12")


def _config(**extra: object) -> ModbusConfig:
    data: dict[str, object] = {
        "id": "meters",
        "driver": "modbus",
        "host": "127.0.0.1",
        "units": [{"name": "main-meter", "unit_id": 1, "profile": "sdm120"}],
    }
    data.update(extra)
    return ModbusConfig.model_validate(data)


def test_registry_resolves_modbus_to_this_config_model() -> None:
    assert registry.config_model("modbus") is ModbusConfig


def test_inline_points_extend_and_override_the_profile() -> None:
    cfg = _config(
        units=[
            {
                "name": "main-meter",
                "unit_id": 1,
                "profile": "sdm120",
                "points": [
                    {
                        "name": "voltage",
                        "address": 2,
                        "function": "input",
                        "type": "float32",
                        "unit": "V",
                    },
                    {"name": "serial", "address": 0xFC00, "function": "holding", "type": "uint32"},
                ],
            }
        ]
    )
    points = {p.name: p for p in cfg.units[0].resolved_points}
    assert points["voltage"].address == 2
    assert "serial" in points
    assert "frequency" in points


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"units": [{"name": "m", "unit_id": 1, "profile": "nope"}]}, "unknown built-in profile"),
        ({"host": None}, "needs `host`"),
        ({"transport": "rtu"}, "serial_port"),
        ({"power_point": "main-meter.voltage"}, "writable coil"),
        (
            {
                "units": [
                    {"name": "a", "unit_id": 1, "profile": "sdm120"},
                    {"name": "b", "unit_id": 1, "profile": "relay8"},
                ]
            },
            "unit_id",
        ),
    ],
)
def test_config_check_reports_what_is_wrong(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _config(**extra)


def test_contiguous_points_are_read_in_one_request() -> None:
    blocks = plan_reads(load_profile("sdm120").points)
    spans = [(b.function, b.address, b.count) for b in blocks]
    assert (4, 0x46, 6) in spans  # frequency, import and export energy: one read
    assert len(spans) == 7  # the other points sit apart and are read one by one


def test_reads_never_exceed_the_block_limit() -> None:
    points = [Point(name=f"r{i}", address=i, function="holding") for i in range(300)]
    blocks = plan_reads(points, max_registers=100)
    assert [b.count for b in blocks] == [100, 100, 100]


def test_breaker_skips_a_silent_unit_then_probes_it_again() -> None:
    breaker = Breaker(threshold=2, cooldown_s=30)
    assert not breaker.record_timeout(0)
    assert breaker.record_timeout(1)
    assert not breaker.allow(10)
    assert breaker.allow(31)
    assert breaker.state(31) == "half_open"
    breaker.record_success()
    assert breaker.state(32) == "closed"


def test_command_arguments_a_validator_refuses_are_said_in_its_words() -> None:
    # HQ reads this in `cmd/.../result`; pydantic's "Value error, " prefix is not for HQ.
    from pydantic import BaseModel, field_validator

    from drivers.sdk import InvalidArgument
    from drivers.sdk.commands import build_command

    class Level(BaseModel):
        level: int

        @field_validator("level")
        @classmethod
        def _even(cls, v: int) -> int:
            if v % 2:
                raise ValueError("the level must be even")
            return v

    with pytest.raises(InvalidArgument) as info:
        build_command({"dim": Level}, "dim", {"level": 3})
    assert info.value.message == "bad arguments for 'dim': level: the level must be even"
