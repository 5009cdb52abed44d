"""Load the YAML config: line numbers from ruamel, env overrides, per-driver device validation.

Every problem is collected, then raised together as one ConfigError, so an engineer fixes the
whole file in one pass instead of one error per restart.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings.exceptions import SettingsError
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import ConstructorError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from drivers import registry

from .checks import check_camera_credentials, check_camera_ids, check_secret_files
from .environ import SECTIONS, Loc, env_name, env_overrides, merge, unknown_env_sections
from .errors import ConfigError, ConfigIssue, plain_message
from .paths import path_problem
from .root import Settings
from .yamltext import AliasError, FileTooLarge, load_yaml, position, read_text


def _model_at(loc: Loc, device_model: type[BaseModel] | None) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at `loc` (for did-you-mean on unknown keys)."""
    model: Any = device_model if device_model is not None else Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        nested += [
            a
            for c in candidates
            for a in getattr(c, "__args__", ())
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not nested:
            return None
        model = nested[0]
    return model if isinstance(model, type) else None


def _hint_for(err: Mapping[str, Any], loc: Loc, device_model: type[BaseModel] | None) -> str | None:
    kind = err["type"]
    given = (err.get("ctx") or {}).get("hint")  # a validator's own (drivers.sdk.addresses.refused)
    if isinstance(given, str):
        return given
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1], device_model)
        if owner is not None:
            close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields), n=1)
            if close:
                return f"did you mean '{close[0]}'?"
            return "known keys: " + ", ".join(owner.model_fields)
        return None
    if kind == "missing":
        return "add this key"
    if kind.endswith(("_type", "_parsing")):
        return f"got {type(err.get('input')).__name__}: {err.get('input')!r}"[:120]
    if kind == "literal_error":
        return None
    return None


def _issues_from(
    exc: ValidationError,
    file: Path,
    tree: Any,
    prefix: Loc,
    device_model: type[BaseModel] | None = None,
    env_paths: Sequence[Loc] = (),
) -> list[ConfigIssue]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        full = prefix + loc
        line, col = position(tree, full)
        where = ".".join(str(p) for p in full)
        msg = "unknown key" if err["type"] == "extra_forbidden" else plain_message(err)
        from_env = next((p for p in env_paths if full[: len(p)] == p), None)
        hint = (
            f"set by {env_name(from_env)} in the environment"
            if from_env
            else _hint_for(err, loc, device_model)
        )
        out.append(ConfigIssue(file, line, col, f"{where}: {msg}", hint))
    return out


def resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Relative `*_file`, data_dir and control_socket paths are relative to the config file."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                if (
                    isinstance(key, str)
                    and (key.endswith("_file") or key in {"data_dir", "control_socket"})
                    and isinstance(sub, str)
                    and sub
                    and not Path(sub).is_absolute()
                ):
                    if not path_problem(sub):  # an unusable one is reported as it stands
                        node[key] = str((base / sub).resolve())
                else:
                    walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    walk(data)
    cameras = data.get("cameras")
    for cam in cameras if isinstance(cameras, list) else []:
        source = cam.get("source") if isinstance(cam, dict) else None
        if (
            isinstance(source, str)
            and "://" not in source
            and source
            and not Path(source).is_absolute()
            and not path_problem(source)
        ):
            cam["source"] = str((base / source).resolve())  # a recorded file next to the config


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _parse(file: Path) -> Any:
    try:
        text = read_text(file)
    except FileTooLarge as exc:
        hint = "a config is a few kilobytes: is this the right file?"
        raise ConfigError([ConfigIssue(file, 1, 1, f"config is {exc}", hint)]) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(file, 1, 1, f"cannot read config: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        col = exc.start - exc.object.rfind(b"\n", 0, exc.start)  # in bytes
        issue = ConfigIssue(file, line, col, "config is not UTF-8 text", "save it as UTF-8")
        raise ConfigError([issue]) from None
    issues = [
        ConfigIssue(
            file,
            n,
            line.index("\t") + 1,
            "tab character in indentation",
            "YAML indents with spaces only; replace the tab with spaces",
        )
        for n, line in enumerate(text.splitlines(), 1)
        if "\t" in line[: len(line) - len(line.lstrip())]
    ]
    if issues:
        raise ConfigError(issues)
    try:
        return load_yaml(text, round_trip=True)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate" in str(exc).lower():
            hint = "each key may appear only once per mapping"
        elif isinstance(exc, AliasError):
            hint = exc.hint
        elif isinstance(exc, ConstructorError):
            hint = "check the value and its `!!` tag; quote it to keep it as text"
        else:
            hint = "check indentation and quoting"
        raise ConfigError([ConfigIssue(file, line, col, f"YAML: {problem}", hint)]) from None
    except YAMLError as exc:
        raise ConfigError([ConfigIssue(file, 1, 1, f"YAML: {exc}")]) from None


def _validate_devices(
    devices_raw: Any, file: Path, tree: Any
) -> tuple[list[Any], list[ConfigIssue]]:
    """Each device against its own driver's model; unknown drivers and duplicate ids located."""
    issues: list[ConfigIssue] = []
    devices: list[Any] = []
    seen: dict[str, int] = {}
    if not isinstance(devices_raw, list):
        line, col = position(tree, ("devices",))
        issues.append(
            ConfigIssue(
                file, line, col, "devices: must be a list", "start each device with '- id: ...'"
            )
        )
        devices_raw = []
    known_drivers = registry.names()
    for i, entry in enumerate(devices_raw):
        if not isinstance(entry, dict):
            line, col = position(tree, ("devices", i))
            issues.append(ConfigIssue(file, line, col, f"devices.{i}: must be a mapping"))
            continue
        driver = entry.get("driver")
        if not isinstance(driver, str) or driver not in known_drivers:
            line, col = position(
                tree, ("devices", i, "driver") if driver is not None else ("devices", i)
            )
            close = difflib.get_close_matches(str(driver), known_drivers, n=1)
            hint = (
                f"did you mean '{close[0]}'?" if close else "drivers: " + ", ".join(known_drivers)
            )
            what = f"unknown driver {driver!r}" if driver is not None else "missing key 'driver'"
            issues.append(ConfigIssue(file, line, col, f"devices.{i}: {what}", hint))
            continue
        device_id = entry.get("id")
        if isinstance(device_id, str) and device_id in seen:
            line, col = position(tree, ("devices", i, "id"))
            issues.append(
                ConfigIssue(
                    file,
                    line,
                    col,
                    f"devices.{i}.id: duplicate device id {device_id!r}",
                    f"also used by devices.{seen[device_id]}; ids must be unique",
                )
            )
        elif isinstance(device_id, str):
            seen[device_id] = i
        try:
            model = registry.config_model(driver)
        except registry.DriverUnavailable as exc:
            line, col = position(tree, ("devices", i, "driver"))
            hint = "reinstall or fix the package that provides it, or remove this device"
            issues.append(ConfigIssue(file, line, col, f"devices.{i}.driver: {exc}", hint))
            continue
        try:
            devices.append(model.model_validate(entry))
        except ValidationError as exc:
            issues += _issues_from(exc, file, tree, ("devices", i), model)
    return devices, issues


def read_raw(
    file: Path, environ: Mapping[str, str] | None = None
) -> tuple[CommentedMap, dict[str, Any], list[Loc]]:
    """The YAML tree (for positions), its plain data with the environment's overrides merged in,
    and where those overrides went. Nothing validated or resolved yet. Raises ConfigError."""
    tree = _parse(file)
    if not isinstance(tree, CommentedMap):
        raise ConfigError(
            [
                ConfigIssue(
                    file,
                    1,
                    1,
                    "the config must be a mapping with an `agent:` section",
                    "see config/example.yaml",
                )
            ]
        )
    if "source" in tree and not any(key in SECTIONS for key in tree):
        # A camera file (config/cameras/, `vision replay --camera-config`) given as a config:
        # one line that says so, not an error for each of its keys.
        raise ConfigError(
            [
                ConfigIssue(
                    file,
                    *position(tree, ("source",)),
                    "this is a camera file (`source` at the top, no `agent:`), not an agent config",
                    "in a config, cameras go in a list under `cameras:`; a camera file is for "
                    "`edge-agent vision replay VIDEO --camera-config FILE`",
                )
            ]
        )
    data = _plain(tree)
    env = os.environ if environ is None else environ
    unknown = unknown_env_sections(env)
    if unknown:
        raise ConfigError(
            [
                ConfigIssue(
                    file,
                    1,
                    1,
                    f"environment override {name}: there is no `{section}` section",
                    "names run EDGE_AGENT__SECTION__KEY from the top, e.g. "
                    "EDGE_AGENT__UPLINK__SYNC__COMPRESSION; sections: " + ", ".join(SECTIONS),
                )
                for name, section in unknown
            ]
        )
    env_paths: list[Loc] = []
    try:
        merge(data, env_overrides(env), (), env_paths)
    except SettingsError as exc:
        raise ConfigError(
            [
                ConfigIssue(
                    file, 1, 1, f"environment override: {exc}", "lists and mappings take JSON"
                )
            ]
        ) from None
    return tree, data, env_paths


def load(path: Path | str, environ: Mapping[str, str] | None = None) -> Settings:
    """Parse, override from the environment, validate. Raises ConfigError listing every issue."""
    file = Path(path)
    tree, data, env_paths = read_raw(file, environ)
    issues = check_secret_files(data, file, tree, ())
    resolve_paths(data, file.parent.resolve())
    devices_raw = data.pop("devices", None) or []
    devices, device_issues = _validate_devices(devices_raw, file, tree)
    issues += device_issues
    try:
        settings = Settings.model_validate({**data, "devices": devices})
    except ValidationError as exc:
        issues += _issues_from(exc, file, tree, (), env_paths=env_paths)
        settings = None
    issues += check_camera_ids(data.get("cameras"), devices_raw, file, tree)
    if settings is not None:
        issues += check_camera_credentials(settings, file, tree)
    if issues or settings is None:
        raise ConfigError(issues)
    return settings


def config_hash(settings: Settings) -> str:
    """A short stable hash of the effective config, published in `status`."""
    blob = json.dumps(settings.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
