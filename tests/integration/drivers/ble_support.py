"""The BLE set-up shared by the beacon driver tests: two beacons, their config, a bounded wait.

The `bluez` fixture (tests/integration/drivers/conftest.py) advertises them through python-dbusmock's
bluez5 template on a private D-Bus system bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.ble.config import BeaconConfig

UUID = "b9407f30-f5f8-466e-aff9-25556b57fe6d"
BADGE = "AA:BB:CC:00:00:07"
TAG = "AA:BB:CC:00:00:08"


def config(**extra: object) -> BeaconConfig:
    return BeaconConfig.model_validate(
        {
            "id": "lobby-ble",
            "driver": "ble_beacons",
            "timeout_s": 5,
            "leave_after_s": 5,
            "beacons": [
                {"id": "staff-badge-7", "ibeacon": {"uuid": UUID, "major": 7, "minor": 1}},
                {
                    "id": "asset-tag-1",
                    "eddystone_uid": {
                        "namespace": "edd1ebeac04e5defa017",
                        "instance": "0badc0ffee01",
                    },
                },
            ],
            **extra,
        }
    )


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait (bounded) for a condition the emulator makes true within a few advert rounds."""
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.05)
