"""What a config names on this PC that is not there: `config check` warnings, never errors.

A recorded file may be mounted later, a USB camera or serial adapter plugged in later: the daemon
starts and reloads anyway (the camera reports no_signal, the device unreachable, until it is
there). So the loader never looks for them, and a config loads the same on every PC;
`config check`, run on the branch PC itself, does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers import registry

from .errors import ConfigError, ConfigWarning
from .loader import read_raw, resolve_paths
from .paths import path_problem
from .yamltext import position

#: The sources vision.capture opens as a V4L2 device; any other source without `://` is a file.
_VIDEO_DEVICE = re.compile(r"/dev/video[0-9]{1,4}")


def _serial_port(entry: Mapping[str, Any]) -> tuple[tuple[str, ...], Any] | None:
    """Where a device entry names the serial port it opens (drivers/*/config.py), and the value;
    None when the device talks over the network."""
    driver = entry.get("driver")
    if driver == "samsung_mdc" and isinstance(entry.get("serial"), dict):
        return ("serial", "port"), entry["serial"].get("port")
    if driver == "modbus" and entry.get("transport") == "rtu":
        return ("serial_port",), entry.get("serial_port")
    return None


def _names_driver(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("driver"), str)


def _enabled(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("enabled", True) is not False


def local_warnings(
    path: Path | str, environ: Mapping[str, str] | None = None
) -> list[ConfigWarning]:
    """Camera files and devices, and serial ports, that the config names and this PC lacks; and
    an installed plugin driver that a built-in of the same name hides.

    Looks at the file as written (with the environment's overrides), valid or not, so the
    warnings come with the errors; a file that does not parse gives none. Disabled cameras and
    devices open nothing, so they are left out.
    """
    file = Path(path)
    try:
        tree, data, _ = read_raw(file, environ)
    except ConfigError:
        return []
    resolve_paths(data, file.parent.resolve())  # a relative source: from the config's folder
    out: list[ConfigWarning] = []
    cameras = data.get("cameras")
    for i, cam in enumerate(cameras if isinstance(cameras, list) else []):
        source = cam.get("source") if _enabled(cam) else None
        if not isinstance(source, str) or not source or "://" in source or path_problem(source):
            continue  # a URL, or a source the loader refuses
        if os.path.exists(source):
            continue
        line, col = position(tree, ("cameras", i, "source"))
        if _VIDEO_DEVICE.fullmatch(source):
            message = f"cameras.{i}.source: {source} does not exist on this PC"
            hint = "plug the camera in; `ls -l /dev/video*` lists the cameras there are; "
        else:
            message = f"cameras.{i}.source: no file or folder at {source}"
            hint = "copy or mount the recording there; "
        out.append(
            ConfigWarning(
                file, line, col, message, hint + "until then the camera reports no_signal"
            )
        )
    devices = data.get("devices")
    hidden_plugins = registry.shadowed()
    for j, entry in enumerate(devices if isinstance(devices, list) else []):
        hidden = hidden_plugins.get(entry["driver"]) if _names_driver(entry) else None
        if hidden is not None:
            line, col = position(tree, ("devices", j, "driver"))
            out.append(
                ConfigWarning(
                    file,
                    line,
                    col,
                    f"devices.{j}.driver: {entry['driver']!r} is the built-in driver; the "
                    f"installed plugin of that name ({hidden}) is not used",
                    "a built-in wins; the plugin must declare its entry point under another name",
                )
            )
        found = _serial_port(entry) if _enabled(entry) else None
        if found is None:
            continue
        keys, port = found
        if not isinstance(port, str) or not port or "://" in port or path_problem(port):
            continue  # missing or not text: the loader says so; `socket://...` is pyserial's URL
        if os.path.exists(port):
            continue
        line, col = position(tree, ("devices", j, *keys))
        where = ".".join(map(str, ("devices", j, *keys)))
        hint = (
            "plug the USB adapter in and check the name: `ls -l /dev/ttyUSB* /dev/serial/by-id/`"
            if os.path.isabs(port)
            else "a relative port is looked up from the daemon's working folder: / under "
            f"systemd, {Path.cwd()} for this check; write the whole path, e.g. /dev/ttyUSB0"
        )
        out.append(
            ConfigWarning(
                file,
                line,
                col,
                f"{where}: serial port {port} does not exist on this PC",
                hint + "; until then the device reports unreachable",
            )
        )
    return sorted(out, key=lambda w: (w.line, w.col))
