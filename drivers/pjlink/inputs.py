"""Friendly input names <-> PJLink's two-character input codes.

PJLink numbers inputs by type and index (`31` is DIGITAL 1), which means nothing to a person at a
projector; the HDMI port is `32` on one model and `33` on another. The site config maps names such
as `hdmi1` to codes; names like `digital1` and raw codes always work as a fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..sdk.errors import InvalidArgument
from .values import INPUT_CODE_RE, INPUT_TYPES

_TYPE_CODES = {name: digit for digit, name in INPUT_TYPES.items()}
_DEFAULT_NAME_RE = re.compile(r"(rgb|video|digital|storage|network|internal)([1-9a-z])")


def default_name(code: str) -> str:
    """`31` -> `digital1`, `3A` -> `digitala`: the name every projector understands."""
    return f"{INPUT_TYPES[code[0]]}{code[1].lower()}"


def resolve(source: str, names: Mapping[str, str], pjclass: int = 2) -> str:
    """The input code for what the user typed: a configured name, a default name or a raw code."""
    wanted = source.strip()
    by_lower = {k.lower(): v for k, v in names.items()}
    code = by_lower.get(wanted.lower())
    if code is None and INPUT_CODE_RE.fullmatch(wanted.upper()):
        code = wanted.upper()
    if code is None and (match := _DEFAULT_NAME_RE.fullmatch(wanted.lower())):
        code = _TYPE_CODES[match.group(1)] + match.group(2).upper()
    if code is None:
        known = ", ".join(sorted(names)) or "none configured"
        raise InvalidArgument(
            f"unknown input {source!r}; use a configured name ({known}), "
            "a name like digital1/rgb2, or a two-digit PJLink code like 31"
        )
    if pjclass == 1 and (code[0] == "6" or not code[1].isdigit()):
        raise InvalidArgument(f"input {code} needs a PJLink class 2 projector")
    return code


def name_for(code: str, names: Mapping[str, str]) -> str:
    """What the state dict shows for an input: the configured name if any, else the default."""
    for name, mapped in names.items():
        if mapped.upper() == code.upper():
            return name
    return default_name(code)
