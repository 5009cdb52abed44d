"""The `wakeonlan` package, a widely used independent sender, wakes our emulated kiosk, and so does
a magic packet inside a longer datagram, as a real network card's would."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
import wakeonlan

from drivers.kiosk.emulator import KioskEmulator
from tests.support.net import free_port

MAC = "02:00:00:00:00:2a"


@pytest.fixture
async def sleeping_kiosk(loopback_port: int) -> AsyncIterator[KioskEmulator]:
    emu = KioskEmulator(port=loopback_port, mac=MAC, wol_port=free_port(socket.SOCK_DGRAM))
    await emu.start()
    await emu.power_off()
    try:
        yield emu
    finally:
        await emu.stop()


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("mac", [MAC, "02-00-00-00-00-2A", "0200.0000.002a"])
async def test_wakeonlan_wakes_the_kiosk_whatever_the_mac_spelling(
    sleeping_kiosk: KioskEmulator, mac: str
) -> None:
    wakeonlan.wake(mac, host="127.0.0.1", port=sleeping_kiosk.wol_port or 9)
    await until(lambda: sleeping_kiosk.state["power"] == "on")
    assert sleeping_kiosk.wol_received == [MAC]


async def test_wakeonlan_with_a_secureon_password_wakes_the_kiosk(
    sleeping_kiosk: KioskEmulator,
) -> None:
    wakeonlan.wake(f"{MAC}/01:02:03:04:05:06", host="127.0.0.1", port=sleeping_kiosk.wol_port or 9)
    await until(lambda: sleeping_kiosk.state["power"] == "on")


async def test_magic_packet_inside_a_longer_datagram_wakes_the_kiosk(
    sleeping_kiosk: KioskEmulator,
) -> None:
    # A card finds the pattern anywhere in the frame: senders that add a header or pad still work.
    magic = wakeonlan.create_magic_packet(MAC)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(
            b"WOL\x00\x01" + magic + b"\x00" * 20, ("127.0.0.1", sleeping_kiosk.wol_port or 9)
        )
    await until(lambda: sleeping_kiosk.state["power"] == "on")
    assert sleeping_kiosk.bad_wol_packets == 0
