"""Where drivers are found: a plain dict of lazy "module:Class" strings plus an entry-point group.

Importing a driver module must stay cheap (stdlib + pydantic); protocol libraries such as pymodbus
or bleak are imported inside the driver's methods, so only configured drivers pay for them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal, cast, get_args, get_origin

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


def shadowed() -> dict[str, str]:
    """Built-in driver name -> the installed plugin that also declares it and so is never used
    ("acme-display 0.3, acme_display.driver:Kiosk")."""
    out = {}
    for name, ep in _plugins().items():
        if name in BUILTIN:
            dist = ep.dist
            who = f"{dist.name} {dist.version}" if dist is not None else "an installed plugin"
            out[name] = f"{who}, {ep.value}"
    return out


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
    pinned = _pinned_names(model)
    if name not in pinned:
        said = ", ".join(repr(n) for n in pinned) if pinned else "nothing (a plain str)"
        raise DriverUnavailable(
            f"driver {name!r} ({provider(name)}, {target}) is not usable under this name: "
            f"its config_model {model.__name__} pins `driver` to {said}; "
            f'it needs `driver: Literal["{name}"]`'
        )
    return cast("type[Driver]", cls)


def _pinned_names(model: type[DeviceConfig]) -> tuple[str, ...]:
    """The names a config model's `driver: Literal[...]` accepts; () when it is not pinned.
    Configs are validated against the model and the schema's device union is discriminated on
    `driver`, so a model that does not accept the name it is registered under cannot be used."""
    field = model.model_fields.get("driver")
    annotation = field.annotation if field is not None else None
    if get_origin(annotation) is not Literal:
        return ()
    return tuple(str(v) for v in get_args(annotation))


def config_model(name: str) -> type[DeviceConfig]:
    """The pydantic config model of driver `name` (raises as `load` does)."""
    return load(name).config_model
