"""Whatever value a write command carries, the Modbus driver refuses it as an invalid argument or
writes it to a real peer (our emulator over loopback TCP) and reads back what was asked for."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient

from drivers.modbus.config import ModbusConfig
from drivers.modbus.driver import ModbusDriver
from drivers.modbus.emulator import ModbusEmulator, from_config
from drivers.sdk import (
    Command,
    InvalidArgument,
    build_command,
    positional_to_args,
    supported_actions,
)
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.modbus_support import tcp_config

#: One writable point per register type, some scaled so far that a finite value overflows.
POINTS: list[dict[str, Any]] = [
    {"name": "tenths", "address": 0, "type": "int16", "scale": 0.1},
    {"name": "threshold", "address": 1, "type": "uint16", "min": 0, "max": 5000},
    {"name": "offset", "address": 2, "type": "int32", "scale": 0.01, "offset": -100},
    {"name": "counter", "address": 4, "type": "uint64"},
    {"name": "signed", "address": 18, "type": "int64"},
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
async def emulator(loopback_port: int) -> AsyncIterator[ModbusEmulator]:
    emu: ModbusEmulator = from_config(config_for(loopback_port))
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def driver(emulator: ModbusEmulator) -> AsyncIterator[ModbusDriver]:
    drv = ModbusDriver(config_for(emulator.port), RecordingContext())
    await drv.start()
    yield drv
    await drv.stop()


def config_for(port: int) -> ModbusConfig:
    units = [{"name": "plc", "unit_id": 5, "points": WRITABLE}]
    return tcp_config(port, power_point=None, units=units)


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


@pytest.mark.parametrize(
    ("name", "value"),
    [("signed", 2**63 - 1), ("signed", -(2**63)), ("counter", 2**64 - 1), ("counter", 2**53 + 1)],
)
@pytest.mark.parametrize("sent_as", ["json-int", "text"])
async def test_64_bit_integer_write_keeps_every_digit(
    driver: ModbusDriver, emulator: ModbusEmulator, name: str, value: int, sent_as: str
) -> None:
    if sent_as == "json-int":  # the control socket takes any JSON integer
        args = json.loads(json.dumps({"point": name, "value": value}))
    else:  # `edge-agent devices cmd plc write <name> <value>`; MQTT's way past 2^53 too
        args = positional_to_args(ACTIONS["write"], [name, str(value)])
    result = await driver.execute(build_command(ACTIONS, "write", args))
    assert result["value"] == value
    again = await driver.execute(build_command(ACTIONS, "read", {"point": name}))
    assert again["value"] == value
    # And the device really holds it, as a third-party client reads it.
    client = AsyncModbusTcpClient("127.0.0.1", port=emulator.port, timeout=2, retries=0)
    assert await client.connect()
    try:
        rr = await client.read_holding_registers(BY_NAME[name]["address"], count=4, device_id=5)
    finally:
        client.close()
    kind = client.DATATYPE.INT64 if name == "signed" else client.DATATYPE.UINT64
    assert client.convert_from_registers(rr.registers, kind) == value


async def test_64_bit_integer_one_past_the_type_is_refused_with_the_exact_range(
    driver: ModbusDriver,
) -> None:
    with pytest.raises(InvalidArgument, match=r"counter: 18446744073709551616 is outside 0\.\."):
        await driver.execute(Command(action="write", args={"point": "counter", "value": 2**64}))
    with pytest.raises(InvalidArgument, match=r"signed: 9223372036854775808 is outside -"):
        await driver.execute(Command(action="write", args={"point": "signed", "value": str(2**63)}))
