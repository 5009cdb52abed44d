"""The `modbus` driver: polls every unit's profile points and reports each unit's health.

The device stays online while at least one unit answers; each unit's own health is in the state
dict under `units`. A unit that keeps timing out is skipped for a cool-down (see breaker.py), so a
dead meter on a shared RS-485 bus costs `breaker_threshold` timeouts, not one per poll.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from drivers.sdk import (
    Capability,
    Command,
    DeviceConfig,
    DeviceTimeout,
    DriverContext,
    DriverError,
    InvalidArgument,
    Reason,
    Unreachable,
    Unsupported,
)

from .blocks import Block, plan_reads
from .breaker import Breaker
from .client import ModbusClient
from .config import ModbusConfig, UnitConfig
from .errors import ValueCodecError
from .profile import Point
from .transport import Link, open_serial, open_tcp

Value = bool | int | float
_TRUE_WORDS = {"on", "true", "1", "yes", "closed"}
_FALSE_WORDS = {"off", "false", "0", "no", "open"}


@dataclass
class UnitRuntime:
    """What the driver knows about one unit between polls."""

    config: UnitConfig
    points: dict[str, Point]
    blocks: list[Block]
    breaker: Breaker
    online: bool = False
    reason: Reason = Reason.STARTING
    error: str | None = None
    values: dict[str, Value] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.name

    def report(self, now: float) -> dict[str, Any]:
        return {
            "online": self.online,
            "reason": self.reason.value,
            "error": self.error,
            "unit_id": self.config.unit_id,
            "breaker": self.breaker.state(now),
        }


class ModbusDriver:
    """Modbus TCP / RTU master for meters, sensors and relays described by profiles."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.WRITE, Capability.POWER}
    )
    config_model: ClassVar[type[DeviceConfig]] = ModbusConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {}
    emulator: ClassVar[str | None] = "drivers.modbus.emulator:from_config"

    def __init__(self, config: ModbusConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._lock = asyncio.Lock()
        self._client = ModbusClient(
            self._open_link,
            config.transport,
            timeout_s=config.timeout_s,
            retries=config.retries,
            log=ctx.log,
        )
        self._units = [
            UnitRuntime(
                config=unit,
                points={p.name: p for p in unit.resolved_points},
                blocks=plan_reads(unit.resolved_points, config.max_block_registers),
                breaker=Breaker(config.breaker_threshold, config.breaker_cooldown_s),
            )
            for unit in config.units
        ]

    async def _open_link(self) -> Link:
        cfg = self._config
        if cfg.transport == "tcp":
            assert cfg.host is not None
            return await open_tcp(cfg.host, cfg.port, cfg.timeout_s)
        assert cfg.serial_port is not None
        return await open_serial(cfg.serial_port, cfg.baudrate, cfg.parity, cfg.stopbits)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self._client.close()
        await self._client.connect()
        self._ctx.log.info(
            "modbus_connected",
            transport=self._config.transport,
            endpoint=self._config.endpoint(),
            units=len(self._units),
        )

    async def stop(self) -> None:
        try:
            await self._client.close()
        except Exception as exc:  # noqa: BLE001 - pymodbus/OS errors mapped to a typed DriverError
            self._ctx.log.warning("modbus_close_failed", error=str(exc))

    # --- polling ---------------------------------------------------------------------------

    @property
    def poll_budget_s(self) -> float:
        """Every block of every unit timing out after all retries: one request per block."""
        c = self._config
        requests = sum(len(unit.blocks) for unit in self._units)
        return requests * c.timeout_s * (c.retries + 1)

    async def poll(self) -> Mapping[str, Any]:
        async with self._lock:
            return await self._poll_locked()

    async def _poll_locked(self) -> dict[str, Any]:
        answered = 0
        first_error: DriverError | None = None
        for unit in self._units:
            now = self._ctx.now()
            if not unit.breaker.allow(now):
                continue  # still cooling down; keeps its last reason (timeout)
            try:
                values = await self._read_unit(unit)
            except Unreachable as exc:
                for other in self._units:
                    self._mark_failed(other, exc)
                raise
            except DriverError as exc:
                first_error = first_error or exc
                self._mark_failed(unit, exc)
                if isinstance(exc, DeviceTimeout) and unit.breaker.record_timeout(now):
                    self._ctx.log.warning(
                        "modbus_unit_skipped",
                        unit=unit.name,
                        unit_id=unit.config.unit_id,
                        timeouts=unit.breaker.consecutive_timeouts,
                        cooldown_s=unit.breaker.cooldown_s,
                    )
                continue
            answered += 1
            if not unit.online:
                self._ctx.log.info(
                    "modbus_unit_online", unit=unit.name, unit_id=unit.config.unit_id
                )
            unit.breaker.record_success()
            unit.online, unit.reason, unit.error, unit.values = True, Reason.OK, None, values
            for name, value in values.items():
                self._ctx.emit_reading(f"{unit.name}.{name}", value, unit.points[name].unit)
        if answered == 0:
            raise first_error or DeviceTimeout(
                "no unit answered: every unit is cooling down after repeated timeouts"
            )
        return self._state()

    def _mark_failed(self, unit: UnitRuntime, exc: DriverError) -> None:
        if unit.online or unit.reason != exc.reason:
            self._ctx.log.warning(
                "modbus_unit_failed",
                unit=unit.name,
                unit_id=unit.config.unit_id,
                reason=exc.reason.value,
                error=exc.message,
            )
        unit.online, unit.reason, unit.error = False, exc.reason, exc.message

    async def _read_unit(self, unit: UnitRuntime) -> dict[str, Value]:
        values: dict[str, Value] = {}
        for block in unit.blocks:
            raw = await self._client.read(
                unit.config.unit_id, block.function, block.address, block.count
            )
            for point in block.points:
                try:
                    values[point.name] = point.decode(block.slice(raw, point))
                except ValueCodecError as exc:
                    self._ctx.log.warning(
                        "modbus_point_invalid", unit=unit.name, point=point.name, error=exc.message
                    )
        return values

    def _state(self) -> dict[str, Any]:
        now = self._ctx.now()
        state: dict[str, Any] = {
            "units": {u.name: u.report(now) for u in self._units},
            "units_online": sum(u.online for u in self._units),
            "units_total": len(self._units),
        }
        if self._config.power_point:
            unit_name, _, point_name = self._config.power_point.partition(".")
            unit = next(u for u in self._units if u.name == unit_name)
            if point_name in unit.values:
                state["power"] = "on" if unit.values[point_name] else "off"
        return state

    # --- commands --------------------------------------------------------------------------

    async def execute(self, command: Command) -> Mapping[str, Any]:
        async with self._lock:
            args = command.args
            if command.action == "refresh":
                return await self._poll_locked()
            if command.action == "read":
                if args.get("point") is None:
                    return await self._read_all()
                unit, point = self._resolve(str(args["point"]))
                return await self._read_point(unit, point)
            if command.action == "write":
                unit, point = self._resolve(str(args["point"]))
                return await self._write_point(unit, point, args["value"])
            if command.action == "power":
                if not self._config.power_point:
                    raise Unsupported("this device has no `power_point` configured")
                unit, point = self._resolve(self._config.power_point)
                result = await self._write_point(unit, point, args["state"] == "on")
                return {"power": "on" if result["value"] else "off"}
            raise Unsupported(f"modbus devices do not support {command.action!r}")

    def _resolve(self, name: str) -> tuple[UnitRuntime, Point]:
        if "." in name:
            unit_name, _, point_name = name.partition(".")
            matches = [
                (u, u.points[point_name])
                for u in self._units
                if u.name == unit_name and point_name in u.points
            ]
        else:
            matches = [(u, u.points[name]) for u in self._units if name in u.points]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(f"{u.name}.{p}" for u in self._units for p in u.points)
        if not matches:
            raise InvalidArgument(f"unknown point {name!r}; points: {known}")
        raise InvalidArgument(f"point {name!r} is on several units; say which: `<unit>.{name}`")

    async def _read_point(self, unit: UnitRuntime, point: Point) -> dict[str, Any]:
        block = plan_reads([point])[0]
        raw = await self._client.read(
            unit.config.unit_id, block.function, block.address, block.count
        )
        value = point.decode(raw)
        unit.values[point.name] = value
        return {"point": f"{unit.name}.{point.name}", "value": value, "unit": point.unit}

    async def _read_all(self) -> dict[str, Any]:
        values: dict[str, Value] = {}
        errors: dict[str, str] = {}
        for unit in self._units:
            try:
                unit_values = await self._read_unit(unit)
            except Unreachable:
                raise
            except DriverError as exc:
                errors[unit.name] = exc.reason.value
                continue
            values.update({f"{unit.name}.{k}": v for k, v in unit_values.items()})
        if not values and errors:
            raise DeviceTimeout(f"no unit answered: {errors}")
        return {"values": values, "errors": errors}

    async def _write_point(self, unit: UnitRuntime, point: Point, value: Any) -> dict[str, Any]:
        qualified = f"{unit.name}.{point.name}"
        if not point.writable:
            raise InvalidArgument(f"{qualified} is read-only")
        try:
            encoded = point.encode(_coerce(value, point))
        except ValueCodecError as exc:
            raise InvalidArgument(exc.message) from None
        if point.is_bit:
            await self._client.write_coil(unit.config.unit_id, point.address, bool(encoded[0]))
        else:
            await self._client.write_registers(
                unit.config.unit_id, point.address, [int(r) for r in encoded]
            )
        self._ctx.log.info("modbus_point_written", point=qualified, value=value)
        return await self._read_point(unit, point)

    async def probe(self) -> Mapping[str, Any]:
        async with self._lock:
            units = []
            for unit in self._units:
                entry: dict[str, Any] = {
                    "name": unit.name,
                    "unit_id": unit.config.unit_id,
                    "profile": unit.config.profile_name,
                    "model": unit.config.model_label,
                    "points": sorted(unit.points),
                }
                try:
                    block = unit.blocks[0]
                    await self._client.read(
                        unit.config.unit_id, block.function, block.address, block.count
                    )
                except Unreachable:
                    raise
                except DriverError as exc:
                    entry.update(answers=False, reason=exc.reason.value, error=exc.message)
                else:
                    entry.update(answers=True, reason=Reason.OK.value)
                units.append(entry)
            return {
                "class": "modbus",
                "transport": self._config.transport,
                "endpoint": self._config.endpoint(),
                "units": units,
            }


def _coerce(value: Any, point: Point) -> bool | int | float:
    """A command value (JSON or CLI word) as a bool for coils or a finite number for registers.

    A whole number stays an int: through a float, an int64 or uint64 above 2**53 would lose its
    last digits.
    """
    number: int | float
    if isinstance(value, str):
        word = value.strip().lower()
        if point.is_bit and word in _TRUE_WORDS | _FALSE_WORDS:
            return word in _TRUE_WORDS
        try:
            number = int(word)
        except ValueError:
            try:
                number = float(word)
            except ValueError:
                raise InvalidArgument(f"{point.name}: {value!r} is not a number") from None
    elif isinstance(value, bool | int | float):
        number = value
    else:
        raise InvalidArgument(f"{point.name}: takes a number or a word, not {type(value).__name__}")
    if isinstance(number, int):
        try:
            float(number)
        except OverflowError:  # an int beyond any float is beyond every register type too
            raise InvalidArgument(
                f"{point.name}: the value is too large for any register"
            ) from None
    elif not math.isfinite(number):
        raise InvalidArgument(f"{point.name}: {value!r} is not a finite number")
    if point.is_bit:
        if number not in (0, 1):
            raise InvalidArgument(f"{point.name}: a coil takes on/off (or 1/0), not {value!r}")
        return number == 1
    return number
