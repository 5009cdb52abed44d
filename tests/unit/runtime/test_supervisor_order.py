"""Devices are listed in the config's order, also after a reload restarted one of them."""

from __future__ import annotations

from drivers.simulated.display import SimulatedDisplayConfig
from edge_agent.runtime.supervisor import Supervisor


def screen(device_id: str, poll: float = 0.5) -> SimulatedDisplayConfig:
    return SimulatedDisplayConfig(id=device_id, driver="simulated_display", poll_interval_s=poll)


async def test_a_changed_device_keeps_its_place_in_the_list() -> None:
    sup = Supervisor(submit=lambda _i: None, on_state=lambda _s: None, on_removed=lambda _i: None)
    try:
        await sup.apply([screen("a"), screen("b"), screen("c")])
        changes = await sup.apply([screen("a"), screen("b", poll=0.7), screen("c"), screen("d")])
        assert changes["changed"] == ["b"] and changes["added"] == ["d"]
        assert [r.config.id for r in sup.runners()] == ["a", "b", "c", "d"]
    finally:
        await sup.stop_all()
