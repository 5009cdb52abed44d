"""Pydantic's error messages in our words: what a validator raised, without the `Value error, `
prefix pydantic puts before it, and what a `pattern` asks for instead of the regular expression.
Shared by command arguments, driver profile files and the config loader, so an engineer or HQ
reads the same sentence wherever a value is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

# Pydantic puts these before the message of a validator's ValueError / AssertionError; the
# message after them is ours, written for the reader.
_PREFIXES = {"value_error": "Value error, ", "assertion_error": "Assertion failed, "}
# pattern -> what it asks for, in words (see `worded`)
_PATTERN_WORDS: dict[str, str] = {}


def worded(pattern: str, words: str) -> str:
    """`pattern`, for `Field(pattern=...)`, with what it asks for in words: a value that does not
    match is refused with "Input should be WORDS" rather than with the regular expression. The
    same pattern means the same thing wherever it is used: its first words stay."""
    _PATTERN_WORDS.setdefault(pattern, words)
    return pattern


def validation_message(err: Mapping[str, Any], plain: Mapping[str, str] | None = None) -> str:
    """The message of one `ValidationError.errors()` entry: `plain[type]` when given for its
    type, a worded pattern's words, else pydantic's own with the validator prefix taken off."""
    kind, msg = str(err.get("type", "")), str(err.get("msg", ""))
    if plain is not None and kind in plain:
        return plain[kind]
    if kind == "string_pattern_mismatch":
        words = _PATTERN_WORDS.get(str((err.get("ctx") or {}).get("pattern", "")))
        return f"Input should be {words}" if words else msg
    prefix = _PREFIXES.get(kind)
    return msg[len(prefix) :] if prefix and msg.startswith(prefix) else msg


def validation_text(exc: ValidationError, whole: str = "value") -> str:
    """Every problem of a ValidationError on one line: `where: message; ...` (`whole` names a
    problem with the value as a whole)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or whole}: {validation_message(e)}"
        for e in exc.errors()
    )
