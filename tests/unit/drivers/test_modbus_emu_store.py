"""The Modbus emulator's meter behaves like a meter: live values wander, energy only counts up."""

from __future__ import annotations

import itertools

from drivers.modbus.emu_store import UnitStore
from drivers.modbus.profile import load_profile


def test_energy_registers_only_count_up_while_voltage_wanders() -> None:
    now = [1000.0]
    profile = load_profile("sdm630")
    unit = UnitStore(1, "main-meter", profile.points, clock=lambda: now[0])
    energy, volts = [], []
    for _ in range(120):  # two minutes, a reading every second
        now[0] += 1.0
        unit.drift()
        energy.append(unit.get_value("import_energy"))
        volts.append(unit.get_value("voltage_l1"))
    assert all(b >= a for a, b in itertools.pairwise(energy)), "a kWh total never falls"
    assert energy[-1] > energy[0]
    assert max(volts) - min(volts) > 1.0, "live values still move"
