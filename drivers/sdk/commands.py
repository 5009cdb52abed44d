"""Turn loose action + args (from the CLI or MQTT) into a validated Command for a driver class."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import InvalidArgument, Unsupported
from .messages import validation_text
from .types import CAPABILITY_ACTIONS, UNIVERSAL_ACTIONS, Capability, Command


def supported_actions(
    capabilities: frozenset[Capability], extra: Mapping[str, type[BaseModel]] | None = None
) -> dict[str, type[BaseModel]]:
    """Action name -> args model for a driver with these capabilities."""
    actions: dict[str, type[BaseModel]] = dict(UNIVERSAL_ACTIONS)
    for cap in sorted(capabilities):
        actions.update(CAPABILITY_ACTIONS[cap])
    if extra:
        actions.update(extra)
    return actions


def positional_to_args(model: type[BaseModel], words: Sequence[str]) -> dict[str, Any]:
    """Map CLI words onto the model: `key=value` by name, bare words onto fields in order.

    A value for a field that takes an object or a list is read as JSON (`args={"level": 3}`);
    everything else stays text for the model to validate.
    """
    fields = list(model.model_fields)
    out: dict[str, Any] = {}
    position = 0
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            out[key] = _value(model, key, value)
            continue
        if position >= len(fields):
            raise InvalidArgument(
                f"too many arguments: {word!r} (takes {', '.join(fields) or 'none'})"
            )
        out[fields[position]] = _value(model, fields[position], word)
        position += 1
    return out


def _value(model: type[BaseModel], key: str, text: str) -> Any:
    field = model.model_fields.get(key)
    if field is None or not _takes_json(field.annotation) or text.lstrip()[:1] not in ("{", "["):
        return text
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidArgument(
            f"{key}: not JSON ({exc}); quote it for the shell: {key}='{{...}}'"
        ) from None


def build_command(
    actions: Mapping[str, type[BaseModel]], action: str, args: Mapping[str, Any] | None
) -> Command:
    """Validate `args` against the action's model. Raises Unsupported or InvalidArgument."""
    model = actions.get(action)
    if model is None:
        known = ", ".join(sorted(actions))
        raise Unsupported(f"unknown action {action!r}; this device supports: {known}")
    try:
        parsed = model.model_validate(dict(args or {}))
    except ValidationError as exc:
        problems = validation_text(exc, "args")
        raise InvalidArgument(f"bad arguments for {action!r}: {problems}") from None
    return Command(action=action, args=parsed.model_dump(mode="json"))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _takes_json(annotation: Any) -> bool:
    """A field typed as an object, a list or a nested model (also `... | None`)."""
    for kind in (annotation, *get_args(annotation)):
        shape = get_origin(kind) or kind
        if shape in (dict, list, tuple, set) or (
            isinstance(shape, type) and issubclass(shape, BaseModel | Mapping)
        ):
            return True
    return False
