"""Whatever value a write command carries, the Modbus driver refuses it as an invalid argument or
writes it to a real peer (our emulator over loopback TCP) and reads back what was asked for."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk import Command, InvalidArgument, build_command, supported_actions
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.modbus_support import tcp_config

#: One writable point per register type, some scaled so far that a finite value overflows.
POINTS: list[dict[str, Any]] = [
    {"name": "tenths", "address": 0, "type": "int16", "scale": 0.1},
    {"name": "threshold", "address": 1, "type": "uint16", "min": 0, "max": 5000},
    {"name": "offset", "address": 2, "type": "int32", "scale": 0.01, "offset": -100},
    {"name": "counter", "address": 4, "type": "uint64"},
    {"name": "level", "address": 8, "type": "float32"},
    {"name": "precise", "address": 10, "type": "float64"},
    {"name": "nano", "address": 14, "type": "int32", "scale": 1e-300},
    {"name": "pico", "address": 16, "type": "float64", "scale": 1e-300},
]
WRITABLE = [{**p, "function": "holding", "writable": True} for p in POINTS] + [
    {"name": "relay", "address": 0, "function": "coil", "type": "bool", "writable": True}
]
BY_NAME = {p["name"]: p for p in WRITABLE}
ACTIONS = supported_actions(ModbusDriver.capabilities)

values = st.one_of(
    st.floats(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**64, 2**63, 2**53 + 1]),
    st.booleans(),
    st.text(max_size=30),
    st.floats().map(str),
    st.integers().map(str),
    st.from_regex(r"\A\s?[-+]?(\d{1,3}(\.\d*)?|\.\d+)([eE][-+]?\d{1,3})?\s?\Z"),
    st.sampled_from(["nan", "-NaN", "inf", "-Infinity", "1e400", "-1e400", "on", "off", "1_0"]),
    st.sampled_from(["FALSE", " True", "yes", "No", "closed", "OPEN "]),
)


@pytest.fixture
async def driver(loopback_port: int) -> AsyncIterator[ModbusDriver]:
    units = [{"name": "plc", "unit_id": 5, "points": WRITABLE}]
    config = tcp_config(loopback_port, power_point=None, units=units)
    emulator: ModbusEmulator = from_config(config)
    await emulator.start()
    drv = ModbusDriver(config, RecordingContext())
    await drv.start()
    yield drv
    await drv.stop()
    await emulator.stop()


def expected(value: Any, point: dict[str, Any]) -> float:
    """The number a user meant, read the way a person would (strings stripped; for a coil the
    words the field guide lists: on/off, true/false, yes/no, closed/open)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if point["type"] == "bool" and word in COIL_WORDS:
            return COIL_WORDS[word]
        return float(word)
    return float(value)


COIL_WORDS = {"on": 1.0, "true": 1.0, "yes": 1.0, "closed": 1.0}
COIL_WORDS |= {"off": 0.0, "false": 0.0, "no": 0.0, "open": 0.0}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(sorted(BY_NAME)), value=values)
async def test_any_write_value_is_refused_as_invalid_or_reads_back_as_written(
    driver: ModbusDriver, name: str, value: Any
) -> None:
    command = build_command(ACTIONS, "write", {"point": name, "value": value})  # as the router does
    try:
        result = await driver.execute(command)
    except InvalidArgument as exc:
        event("refused")
        assert name in exc.message
        return
    event("written")
    point = BY_NAME[name]
    wanted = expected(value, point)
    if point["type"] == "bool":
        assert result["value"] is (wanted == 1.0)
        return
    scale = point.get("scale", 1.0)
    step = scale / 2 if point["type"] not in ("float32", "float64") else 0.0
    rel = 1e-6 if point["type"] == "float32" else 1e-9
    assert math.isclose(result["value"], wanted, rel_tol=rel, abs_tol=step + 1e-9), result


@pytest.mark.parametrize(
    "value",
    ["nan", "inf", "1e400", math.nan, -math.inf, 10**400],
    ids=["nan-word", "inf-word", "1e400-word", "nan", "-inf", "10**400"],
)
async def test_non_finite_or_huge_value_is_an_invalid_argument_naming_the_point(
    driver: ModbusDriver, value: Any
) -> None:
    for name in ("tenths", "counter", "level"):
        with pytest.raises(InvalidArgument, match=name):
            await driver.execute(Command(action="write", args={"point": name, "value": value}))
