"""Where drivers are found: a plain dict of lazy "module:Class" strings plus an entry-point group.

Importing a driver module must stay cheap (stdlib + pydantic); protocol libraries such as pymodbus
or bleak are imported inside the driver's methods, so only configured drivers pay for them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, cast

from .sdk.contract import DeviceConfig, Driver

ENTRY_POINT_GROUP = "edge_agent.drivers"

BUILTIN: dict[str, str] = {
    "simulated_display": "drivers.simulated.display:SimulatedDisplay",
    "simulated_sensor": "drivers.simulated.sensor:SimulatedSensor",
    "pjlink": "drivers.pjlink.driver:PJLinkDriver",
    "samsung_mdc": "drivers.mdc.driver:MDCDriver",
    "modbus": "drivers.modbus.driver:ModbusDriver",
    "ble_beacons": "drivers.ble.driver:BeaconDriver",
    "kiosk": "drivers.kiosk.driver:KioskDriver",
}


class UnknownDriver(LookupError):
    """No built-in or installed driver has this name."""


def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Every driver name a config may use: built-ins first, then installed plugins."""
    return sorted({**_plugins(), **BUILTIN})


def import_string(target: str) -> Any:
    """Resolve "package.module:attr"."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def load(name: str) -> type[Driver]:
    """The driver class for `name`. Built-ins win over plugins of the same name."""
    target = BUILTIN.get(name) or _plugins().get(name)
    if target is None:
        raise UnknownDriver(name)
    return cast("type[Driver]", import_string(target))


def config_model(name: str) -> type[DeviceConfig]:
    """The pydantic config model of driver `name`."""
    return load(name).config_model
