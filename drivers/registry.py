"""Where drivers are found: a plain dict of lazy "module:Class" strings plus an entry-point group.

Importing a driver module must stay cheap (stdlib + pydantic); protocol libraries such as pymodbus
or bleak are imported inside the driver's methods, so only configured drivers pay for them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
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


class DriverUnavailable(LookupError):
    """An installed driver that cannot be used: its module fails to import, or what its entry
    point names is not a driver. The message says which package provides it and why."""


def _plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Every driver name a config may use: built-ins first, then installed plugins."""
    return sorted({**_plugins(), **BUILTIN})


def provider(name: str) -> str:
    """Who provides driver `name`, for messages: "built in" or the plugin's package and version."""
    if name in BUILTIN:
        return "built in"
    ep = _plugins().get(name)
    dist = ep.dist if ep is not None else None
    return f"{dist.name} {dist.version}" if dist is not None else "an installed plugin"


def import_string(target: str) -> Any:
    """Resolve "package.module:attr"."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def load(name: str) -> type[Driver]:
    """The driver class for `name`. Built-ins win over plugins of the same name.

    Raises UnknownDriver, or DriverUnavailable for a driver that is installed but broken: a
    plugin's import may raise anything, and says so here rather than as a traceback.
    """
    target = BUILTIN.get(name)
    if target is None:  # only then read the installed plugins' entry points (a few ms)
        plugin = _plugins().get(name)
        target = plugin.value if plugin is not None else None
    if target is None:
        raise UnknownDriver(name)
    try:
        cls = import_string(target)
    except Exception as exc:  # third-party code: any error there means unusable
        raise DriverUnavailable(
            f"driver {name!r} ({provider(name)}, {target}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    model = getattr(cls, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, DeviceConfig)):
        raise DriverUnavailable(
            f"driver {name!r} ({provider(name)}, {target}) is not a driver: "
            "it has no config_model that extends drivers.sdk.DeviceConfig"
        )
    return cast("type[Driver]", cls)


def config_model(name: str) -> type[DeviceConfig]:
    """The pydantic config model of driver `name` (raises as `load` does)."""
    return load(name).config_model
