"""Devices are listed in the config's order, also after a reload restarted one of them."""

from __future__ import annotations

import asyncio

import pytest

from drivers import registry
from drivers.simulated.display import SimulatedDisplay, SimulatedDisplayConfig
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


class SlowToStop(SimulatedDisplay):
    """A display whose connection takes a while to close, so a restart is caught mid-stop."""

    async def stop(self) -> None:
        await asyncio.sleep(1.0)
        await super().stop()


async def test_a_reload_cancelled_while_it_stops_a_device_starts_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SIGTERM during a reload cancels the reload; it used to swallow that and go on starting the
    # new config's devices in a daemon that was shutting down.
    monkeypatch.setitem(registry.BUILTIN, "simulated_display", f"{__name__}:SlowToStop")
    sup = Supervisor(submit=lambda _i: None, on_state=lambda _s: None, on_removed=lambda _i: None)
    try:
        await sup.apply([screen("a")])
        while not any(r.status.online for r in sup.runners()):
            await asyncio.sleep(0.02)
        reload = asyncio.create_task(sup.apply([screen("a", poll=0.7), screen("b")]))
        await asyncio.sleep(0.2)  # inside the stop of the changed device
        reload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reload
        assert [r.config.id for r in sup.runners()] == [], "neither the new a nor b was started"
    finally:
        await sup.stop_all()
