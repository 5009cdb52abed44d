"""The emulator's datastore: units filled from profiles, with plausible drifting values and faults.

It implements the three methods pymodbus' server asks of its context (`async_getValues`,
`async_setValues`, `device_ids`), so pymodbus does the framing while we decide what a unit
answers, when it answers, and whether it answers at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from drivers.sdk.faults import FaultAction, Faults

from .codec import ExceptionCode
from .errors import ValueCodecError
from .profile import Point, Table

ENERGY_PER_S = 0.002  # kWh a second an emulated meter adds (about 7 kW of lobby load)

#: pymodbus function code -> the table it touches.
_TABLE_OF: dict[int, Table] = {
    1: "coil",
    5: "coil",
    15: "coil",
    2: "discrete",
    3: "holding",
    6: "holding",
    16: "holding",
    22: "holding",
    23: "holding",
    4: "input",
}


def parse_error_code(text: str) -> int:
    """`error_code` knob: "2", "0x02" or a name such as "illegal_data_address"."""
    word = text.strip().lower()
    try:
        return int(word, 0)
    except ValueError:
        pass
    for code in ExceptionCode:
        if code.name.lower() == word or code.name.lower().replace("_data", "") == word:
            return int(code)
    return int(ExceptionCode.SERVER_DEVICE_FAILURE)


class UnitStore:
    """One emulated unit: its registers, its points and its own fault knobs."""

    def __init__(
        self,
        unit_id: int,
        name: str,
        points: Sequence[Point],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit_id = unit_id
        self.name = name
        self.faults = Faults()
        self.requests = 0
        self._clock = clock
        self._started = clock()
        self._points = {p.name: p for p in points}
        self._tables: dict[Table, dict[int, int | bool]] = {
            t: {} for t in ("coil", "discrete", "holding", "input")
        }
        self._pinned: set[str] = set()
        for point in points:
            self._store(point, point.example if point.example is not None else 0)

    def _store(self, point: Point, value: float) -> None:
        table = self._tables[point.function]
        for offset, raw in enumerate(point.encode(value)):
            table[point.address + offset] = raw

    def set_value(self, point_name: str, value: float) -> None:
        """Pin a point to `value` (it stops drifting). Raises KeyError for an unknown point."""
        point = self._points[point_name]
        self._store(point, value)
        self._pinned.add(point_name)

    def get_value(self, point_name: str) -> bool | int | float:
        point = self._points[point_name]
        table = self._tables[point.function]
        return point.decode([table[point.address + i] for i in range(point.count)])

    def drift(self) -> None:
        """Move measured values about 1 %, like a live meter, unless pinned or writable. Energy
        registers (a unit ending in `h`: kWh, varh) only count up, as a meter's do."""
        now = self._clock()
        for index, point in enumerate(self._points.values()):
            if (
                point.writable
                or point.is_bit
                or point.example is None
                or point.name in self._pinned
            ):
                continue
            if (point.unit or "").endswith("h"):
                value = point.example + ENERGY_PER_S * max(0.0, now - self._started)
            else:
                value = point.example * (1 + 0.01 * math.sin(now / 5.0 + index))
            try:
                self._store(point, value)
            except ValueCodecError:
                continue

    def read(self, table: Table, address: int, count: int) -> list[int] | list[bool] | int:
        """The values, or an exception code when any address is not mapped on this device."""
        cells = self._tables[table]
        if any(a not in cells for a in range(address, address + count)):
            return int(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        self.drift()
        return [cells[a] for a in range(address, address + count)]

    def write(self, table: Table, address: int, values: Sequence[int | bool]) -> int | None:
        """Store written values; only addresses owned by writable points accept a write."""
        owners = [self._owner(table, address + i) for i in range(len(values))]
        if any(owner is None or not owner.writable for owner in owners):
            return int(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        for i, value in enumerate(values):
            self._tables[table][address + i] = bool(value) if table == "coil" else int(value)
        self._pinned.update(o.name for o in owners if o is not None)
        return None

    def _owner(self, table: Table, address: int) -> Point | None:
        for point in self._points.values():
            if point.function == table and point.address <= address < point.address + point.count:
                return point
        return None


class BusStore:
    """All units behind one TCP endpoint or on one RS-485 bus, plus the bus-wide fault knobs."""

    def __init__(
        self, units: Sequence[UnitStore], faults: Faults, on_disconnect: Callable[[], None]
    ) -> None:
        self.units = {u.unit_id: u for u in units}
        self.faults = faults
        self._on_disconnect = on_disconnect

    def device_ids(self) -> list[int]:
        return list(self.units)

    async def _gate(self, device_id: int) -> tuple[UnitStore, int | None]:
        """Apply faults; returns the unit and an exception code to answer with, if any."""
        from pymodbus.exceptions import NoSuchIdException

        unit = self.units.get(device_id)
        if unit is None:
            raise NoSuchIdException(f"no unit {device_id} on this bus")  # silence, like RS-485
        unit.requests += 1
        for faults in (self.faults, unit.faults):
            action = await faults.next_action()
            if action is FaultAction.CLOSE:
                self._on_disconnect()
                raise NoSuchIdException("disconnect fault")
            if action is FaultAction.DROP:
                raise NoSuchIdException("silent fault")
            if action is FaultAction.ERROR and faults.error_code is not None:
                return unit, parse_error_code(faults.error_code)
        return unit, None

    async def admit(self, device_id: int) -> Any:
        """Let the unit see a request it will refuse: None, or the exception its fault knob sets.

        `emu_requests` calls this before answering a malformed request with exception 03, so an
        absent or silenced unit stays silent and a delayed one is late, as for any request.
        """
        from pymodbus.constants import ExcCodes

        _unit, error = await self._gate(device_id)
        return None if error is None else ExcCodes(error)

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        from pymodbus.constants import ExcCodes

        unit, error = await self._gate(device_id)
        if error is not None:
            return ExcCodes(error)
        table = _TABLE_OF.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        result = unit.read(table, address, count)
        return ExcCodes(result) if isinstance(result, int) else result

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> Any:
        from pymodbus.constants import ExcCodes

        unit, error = await self._gate(device_id)
        if error is not None:
            return ExcCodes(error)
        table = _TABLE_OF.get(func_code)
        if table not in ("coil", "holding"):
            return ExcCodes.ILLEGAL_FUNCTION
        result = unit.write(table, address, values)
        return None if result is None else ExcCodes(result)

    def garbles(self, unit_id: int) -> bool:
        unit = self.units.get(unit_id)
        return self.faults.garbage or (unit is not None and unit.faults.garbage)
