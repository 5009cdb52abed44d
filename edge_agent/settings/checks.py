"""Checks across the config that no single model can make: secret files that exist and can be
read, camera credentials that are text, ids that cameras and devices do not share. Each returns
its issues with their FILE:LINE:COL; the loader gathers them with the models' own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .cameras import CredentialsError
from .environ import Loc
from .errors import ConfigIssue
from .paths import path_problem
from .root import Settings
from .yamltext import position


def check_secret_files(value: Any, file: Path, tree: Any, loc: Loc) -> list[ConfigIssue]:
    """Every set `*_file` key must name a readable file (resolved relative to the config file)."""
    issues: list[ConfigIssue] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            if isinstance(key, str) and key.endswith("_file") and isinstance(sub, str) and sub:
                problem = path_problem(sub)
                path = Path(sub) if Path(sub).is_absolute() else file.parent / sub
                if problem:
                    line, col = position(tree, (*loc, key))
                    where = ".".join(map(str, (*loc, key)))
                    issues.append(ConfigIssue(file, line, col, f"{where}: the path {problem}"))
                elif not os.access(path, os.R_OK):
                    line, col = position(tree, (*loc, key))
                    why = "does not exist" if not path.exists() else "is not readable by this user"
                    issues.append(
                        ConfigIssue(
                            file,
                            line,
                            col,
                            f"{'.'.join(map(str, (*loc, key)))}: {path} {why}",
                            "create it with the secret inside: mode 0640, owner root, group edge-agent",
                        )
                    )
            else:
                issues += check_secret_files(sub, file, tree, (*loc, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            issues += check_secret_files(sub, file, tree, (*loc, i))
    return issues


def check_camera_credentials(settings: Settings, file: Path, tree: Any) -> list[ConfigIssue]:
    """A camera's credentials file must hold text, or its worker fails at every start."""
    issues: list[ConfigIssue] = []
    for i, cam in enumerate(settings.cameras):
        path = cam.credentials_file
        if path is None or path_problem(str(path)) or not os.access(path, os.R_OK):
            continue  # check_secret_files has said why
        try:
            cam.credentials()
        except CredentialsError as exc:
            line, col = position(tree, ("cameras", i, "credentials_file"))
            issues.append(ConfigIssue(file, line, col, f"cameras.{i}.credentials_file: {exc}"))
    return issues


def check_camera_ids(cams_raw: Any, devices_raw: Any, file: Path, tree: Any) -> list[ConfigIssue]:
    """Camera ids are unique, and no camera takes a device's id: upstream, both are the `device`
    of events, and the CLI finds both by id. Each clash is reported at the later of the two ids."""
    issues: list[ConfigIssue] = []
    device_ids: dict[str, int] = {}
    for j, entry in enumerate(devices_raw if isinstance(devices_raw, list) else []):
        device_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(device_id, str):
            device_ids.setdefault(device_id, j)
    seen: dict[str, int] = {}
    for i, cam in enumerate(cams_raw if isinstance(cams_raw, list) else []):
        cid = cam.get("id") if isinstance(cam, dict) else None
        if not isinstance(cid, str):
            continue  # missing or not text: the model says so
        cam_at = position(tree, ("cameras", i, "id"))
        if cid in seen:
            issues.append(
                ConfigIssue(
                    file,
                    *cam_at,
                    f"cameras.{i}.id: duplicate camera id {cid!r}",
                    f"also used by cameras.{seen[cid]}; ids must be unique",
                )
            )
            continue
        seen[cid] = i
        if cid in device_ids:
            j = device_ids[cid]
            dev_at = position(tree, ("devices", j, "id"))
            at, what, first = (
                (cam_at, f"cameras.{i}.id: camera id {cid!r} is also a device id", f"devices.{j}")
                if cam_at >= dev_at
                else (
                    dev_at,
                    f"devices.{j}.id: device id {cid!r} is also a camera id",
                    f"cameras.{i}",
                )
            )
            issues.append(
                ConfigIssue(
                    file,
                    *at,
                    what,
                    f"also used by {first}; a camera and a device may not share an id: "
                    "both are the `device` of events upstream, and the CLI finds both by id",
                )
            )
    return issues
