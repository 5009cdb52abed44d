"""Coalesce a unit's points into as few reads as possible: one per run of contiguous addresses.

Only truly contiguous (or overlapping) points are merged: many devices answer "illegal data
address" when a read spans an unmapped gap, so gaps are never bridged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .codec import MAX_READ_BITS, Function
from .profile import Point, Table

READ_FUNCTION: dict[Table, Function] = {
    "coil": Function.READ_COILS,
    "discrete": Function.READ_DISCRETE_INPUTS,
    "holding": Function.READ_HOLDING_REGISTERS,
    "input": Function.READ_INPUT_REGISTERS,
}


@dataclass(frozen=True)
class Block:
    """One read request and the points whose values it carries."""

    function: Function
    address: int
    count: int
    points: tuple[Point, ...]

    def slice(self, values: list[int] | list[bool], point: Point) -> list[int] | list[bool]:
        start = point.address - self.address
        return values[start : start + point.count]


def plan_reads(points: Iterable[Point], max_registers: int = 125) -> list[Block]:
    """Blocks in table then address order. A point never straddles two blocks."""
    by_table: dict[Table, list[Point]] = {}
    for point in points:
        by_table.setdefault(point.function, []).append(point)
    blocks: list[Block] = []
    for table in ("coil", "discrete", "holding", "input"):
        members = sorted(by_table.get(table, []), key=lambda p: (p.address, p.count))
        limit = MAX_READ_BITS if table in ("coil", "discrete") else max_registers
        current: list[Point] = []
        start = end = 0
        for point in members:
            p_end = point.address + point.count
            if current and point.address <= end and max(end, p_end) - start <= limit:
                current.append(point)
                end = max(end, p_end)
                continue
            if current:
                blocks.append(Block(READ_FUNCTION[table], start, end - start, tuple(current)))
            current, start, end = [point], point.address, p_end
        if current:
            blocks.append(Block(READ_FUNCTION[table], start, end - start, tuple(current)))
    return blocks
