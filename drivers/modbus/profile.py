"""Register-map profiles: which points a device model has, where they live and how to read them.

A profile is a YAML file (built-ins live in `drivers/modbus/profiles/`). Errors name the file and
the point, because the person reading them is on site with a printed register map in hand.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..sdk.messages import validation_message, worded
from .errors import ProfileError, ValueCodecError
from .values import (
    FLOAT_TYPES,
    DataType,
    Order,
    decode_registers,
    encode_registers,
    integer_range,
    register_count,
)

Table = Literal["coil", "discrete", "holding", "input"]
PROFILE_DIR = Path(__file__).parent / "profiles"
_BUILTIN_NAME = re.compile(r"^[a-z0-9_]+$")
POINT_NAME = worded(
    r"^[a-z][a-z0-9_]{0,62}$",
    "1 to 63 lower-case letters, digits or '_', starting with a letter",
)
# What ruamel's constructors raise for a value they cannot build instead of a YAMLError:
# `!!timestamp 2020-13-45` or a 5000-digit int (ValueError), `!!bool x` (KeyError), `!!int ''`
# (IndexError), `!!omap x` (AttributeError); nesting deeper than the stack (RecursionError).
_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)
#: A register map is a few kilobytes; the config loader holds its own files to the same limit.
MAX_PROFILE_BYTES = 1 << 20


class Point(BaseModel):
    """One value on a device: where it is, how it is encoded, and what it means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=POINT_NAME, description="Reading name; emitted as `<unit>.<name>`.")
    address: int = Field(ge=0, le=0xFFFF, description="Zero-based PDU address (30001 -> 0).")
    function: Table = Field(description="coil, discrete, holding or input.")
    type: DataType = "uint16"
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = Field(default=1.0, description="Engineering value = raw * scale + offset.")
    offset: float = 0.0
    unit: str | None = None
    writable: bool = False
    min: float | None = Field(default=None, description="Lowest value a write may set.")
    max: float | None = Field(default=None, description="Highest value a write may set.")
    example: float | None = Field(
        default=None, description="Typical value; the emulator serves it."
    )
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Point:
        bit_table = self.function in ("coil", "discrete")
        if bit_table and self.type != "bool":
            raise ValueError(
                f"{self.function} points hold one bit: type must be bool, not {self.type}"
            )
        if not bit_table and self.type == "bool":
            raise ValueError(f"{self.function} registers need a numeric type, not bool")
        if self.writable and self.function not in ("coil", "holding"):
            raise ValueError(f"{self.function} points are read-only on every Modbus device")
        if self.address + self.count > 0x10000:
            raise ValueError(f"{self.type} at {self.address} runs past address 65535")
        if self.scale == 0 or not math.isfinite(self.scale) or not math.isfinite(self.offset):
            raise ValueError("scale must be a finite non-zero number and offset finite")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def count(self) -> int:
        return register_count(self.type)

    @property
    def is_bit(self) -> bool:
        return self.type == "bool"

    def decode(self, raw: list[int] | list[bool]) -> bool | int | float:
        """Engineering value from this point's registers or bit. Raises ValueCodecError."""
        if self.is_bit:
            return bool(raw[0])
        value = decode_registers([int(r) for r in raw], self.type, self.word_order, self.byte_order)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueCodecError(f"{self.name}: device sent {value!r}")
        if isinstance(value, float) and self.type == "float32":
            value = float(f"{value:.7g}")  # float32 carries ~7 significant digits; hide the noise
        if self.scale == 1.0 and self.offset == 0.0:
            return value
        return round(value * self.scale + self.offset, 9)

    def encode(self, value: bool | int | float) -> list[int] | list[bool]:
        """Registers (or the bit) that make the device show engineering `value`.

        Integer types are computed exactly (an int64 counter above 2**53 keeps every digit) and
        rounded to the nearest step of `scale`, halves away from zero (2.5 steps -> 3, as on a
        calculator, not Python's 2). Raises ValueCodecError when the value is outside
        the point's min/max or its type.
        """
        if self.is_bit:
            return [bool(value)]
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueCodecError(f"{self.name}: {value} is not a finite number")
        if self.min is not None and value < self.min:
            raise ValueCodecError(f"{self.name}: {_shown(value)} is below the minimum {self.min}")
        if self.max is not None and value > self.max:
            raise ValueCodecError(f"{self.name}: {_shown(value)} is above the maximum {self.max}")
        if self.type in FLOAT_TYPES:
            try:
                raw = (float(value) - self.offset) / self.scale
            except OverflowError:  # an int past the float range
                raw = math.inf
            if not math.isfinite(raw):  # or a finite value divided by a tiny scale
                raise ValueCodecError(
                    f"{self.name}: {_shown(value)} is too large at scale {self.scale:g}"
                )
            try:
                return encode_registers(raw, self.type, self.word_order, self.byte_order)
            except ValueCodecError as exc:
                raise ValueCodecError(f"{self.name}: {exc.message}") from None
        rounded = _round_half_away((_typed(value) - _typed(self.offset)) / _typed(self.scale))
        low, high = integer_range(self.type)
        if not low <= rounded <= high:
            if self.scale == 1.0 and self.offset == 0.0:
                span = f"{low}..{high}"
            else:
                lo_eng, hi_eng = sorted(
                    (low * self.scale + self.offset, high * self.scale + self.offset)
                )
                span = f"{lo_eng:g}..{hi_eng:g}"
            raise ValueCodecError(f"{self.name}: {_shown(value)} is outside {span}")
        return encode_registers(rounded, self.type, self.word_order, self.byte_order)


def _typed(value: float) -> Fraction:
    """The number as written: 0.15 is 15/100, not the binary float just below it."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _round_half_away(steps: Fraction) -> int:
    """Nearest whole number of steps; a half goes away from zero."""
    whole = math.floor(abs(steps) + Fraction(1, 2))
    return whole if steps >= 0 else -whole


def _shown(value: float) -> str:
    """A value for a message: whole up to 30 digits, shortened past that."""
    if isinstance(value, float) or abs(value) < 10**30:
        return str(value)
    try:
        return f"{value:.6e}"
    except OverflowError:  # past the float range, where no one wants the digits either
        return f"a {value.bit_length()}-bit integer"


class Profile(BaseModel):
    """A device model's register map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    manufacturer: str | None = None
    model: str | None = None
    description: str | None = None
    points: tuple[Point, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Profile:
        seen: set[str] = set()
        for point in self.points:
            if point.name in seen:
                raise ValueError(f"point {point.name!r} is defined twice")
            seen.add(point.name)
        return self


# Pydantic's words for a hand-written file's commonest slips, in the config loader's words.
_PLAIN = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "too_short": "give at least one",
}


def _describe(exc: ValidationError, data: Any) -> str:
    """One line per problem, naming the point by name rather than by list index."""
    lines = []
    errors = exc.errors()
    bad_points = any(len(e["loc"]) > 1 and e["loc"][0] == "points" for e in errors)
    for err in errors:
        loc = list(err["loc"])
        if bad_points and loc == ["points"] and err["type"] == "too_short":
            continue  # points were given, each refused above: "give at least one" would mislead
        where = ".".join(str(p) for p in loc) or "profile"
        if len(loc) >= 2 and loc[0] == "points" and isinstance(loc[1], int):
            points = data.get("points") if isinstance(data, dict) else None
            entry = points[loc[1]] if isinstance(points, list) and loc[1] < len(points) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            name = name if isinstance(name, str) else None  # a 0x number too long to print, say
            field = ".".join(str(p) for p in loc[2:])
            where = f"point {name or '#' + str(loc[1] + 1)!r}" + (f" {field}" if field else "")
        lines.append(f"{where}: {validation_message(err, _PLAIN)}")
    return "; ".join(lines)


def parse_profile(data: Any, source: str) -> Profile:
    """Validate already-loaded YAML data; `source` names the file in error messages."""
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"profile {source}: {_describe(exc, data)}") from None


def builtin_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def resolve_profile_path(ref: str) -> Path:
    """A built-in name (`sdm120`) or a path to a YAML file (relative to the working directory)."""
    if _BUILTIN_NAME.match(ref):
        builtin = PROFILE_DIR / f"{ref}.yaml"
        if builtin.is_file():
            return builtin
        if not ref.endswith(("yaml", "yml")):
            raise ProfileError(
                f"unknown built-in profile {ref!r}; built-ins: {', '.join(builtin_names())}"
            )
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ProfileError(f"profile file {path} does not exist")
    return path


def load_profile(ref: str) -> Profile:
    path = resolve_profile_path(ref)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise ProfileError(f"profile file {path}: {exc.strerror}") from None
    return _load_cached(str(path.resolve()), stamp)


@lru_cache(maxsize=64)
def _load_cached(path: str, _mtime_ns: int) -> Profile:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        with Path(path).open("rb") as stream:
            raw = stream.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError(
                f"profile {path}: larger than the {MAX_PROFILE_BYTES >> 20} MiB limit for a profile"
            )
        data = YAML(typ="safe").load(raw.decode("utf-8"))
    except OSError as exc:
        raise ProfileError(f"profile file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise ProfileError(
            f"profile {path}: not UTF-8 text (line {line}); save it as UTF-8"
        ) from None
    except YAMLError as exc:
        raise ProfileError(f"profile {path}: not valid YAML: {exc}") from None
    except _BUILD_ERRORS as exc:
        why = str(exc).split(";")[0]  # a ValueError's advice is for Python programmers
        raise ProfileError(
            f"profile {path}: cannot read a value ({why}); check `!!` tags and overlong numbers"
        ) from None
    return parse_profile(data, path)
