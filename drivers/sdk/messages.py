"""Pydantic's error messages in our words: what a validator raised, without the `Value error, `
prefix pydantic puts before it. Shared by command arguments, driver profile files and the config
loader, so an engineer or HQ reads the same sentence wherever a value is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Pydantic puts these before the message of a validator's ValueError / AssertionError; the
# message after them is ours, written for the reader.
_PREFIXES = {"value_error": "Value error, ", "assertion_error": "Assertion failed, "}


def validation_message(err: Mapping[str, Any], plain: Mapping[str, str] | None = None) -> str:
    """The message of one `ValidationError.errors()` entry: `plain[type]` when given for its
    type, else pydantic's own with the validator prefix taken off."""
    kind, msg = str(err.get("type", "")), str(err.get("msg", ""))
    if plain is not None and kind in plain:
        return plain[kind]
    prefix = _PREFIXES.get(kind)
    return msg[len(prefix) :] if prefix and msg.startswith(prefix) else msg
