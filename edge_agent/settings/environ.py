"""`EDGE_AGENT__SECTION__KEY=value` overrides: parsed, merged into the file's data, and named
back to the engineer when a value they set is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_settings import EnvSettingsSource

from .root import Settings

ENV_PREFIX = "EDGE_AGENT__"
Loc = tuple[str | int, ...]


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """EDGE_AGENT__UPLINK__MQTT__HOST=broker -> {"uplink": {"mqtt": {"host": "broker"}}}.

    pydantic-settings does the parsing (nested `__` keys, JSON for lists and mappings), reading
    the mapping we are given so tests need not touch os.environ.
    """
    lowered = {k.lower(): v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}

    class _Environ(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return lowered

    source = _Environ(
        Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False
    )
    return dict(source())


SECTIONS = tuple(Settings.model_fields)


def unknown_env_sections(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """`EDGE_AGENT__*` variables whose first part names no section: pydantic-settings would drop
    them without a word, and the engineer would think the override took effect."""
    out: list[tuple[str, str]] = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in SECTIONS:
            out.append((name, section))
    return out


def merge(base: dict[str, Any], override: Mapping[str, Any], path: Loc, seen: list[Loc]) -> None:
    """Deep-merge `override` into `base`, remembering which key paths came from the environment."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.setdefault(key, {}), dict):
            merge(base[key], value, (*path, key), seen)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
            seen.append((*path, key))


def env_name(loc: Loc) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc)
