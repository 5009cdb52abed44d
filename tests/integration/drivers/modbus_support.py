"""The Modbus set-ups shared by the Modbus driver tests: the same three units on TCP or RS-485."""

from __future__ import annotations

from typing import Any

from drivers.modbus.config import ModbusConfig

UNITS = [
    {"name": "main-meter", "unit_id": 1, "profile": "sdm120"},
    {"name": "air", "unit_id": 2, "profile": "env_sensor"},
    {"name": "relays", "unit_id": 3, "profile": "relay8"},
]


def _config(**fields: Any) -> ModbusConfig:
    return ModbusConfig.model_validate({"driver": "modbus", "retries": 0, "units": UNITS, **fields})


def tcp_config(port: int, **extra: Any) -> ModbusConfig:
    """A Modbus TCP gateway on loopback `port`."""
    base = {"id": "branch-meters", "host": "127.0.0.1", "port": port, "timeout_s": 0.5}
    return _config(**{**base, "power_point": "relays.relay_1", **extra})


def rtu_config(serial_port: str, **extra: Any) -> ModbusConfig:
    """An RS-485 bus on `serial_port`, with a breaker that opens after two failures."""
    base = {"id": "bus-1", "transport": "rtu", "serial_port": serial_port, "baudrate": 19200}
    breaker = {"timeout_s": 1.0, "breaker_threshold": 2, "breaker_cooldown_s": 300}
    return _config(**{**base, **breaker, **extra})
