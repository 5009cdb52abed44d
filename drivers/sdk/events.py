"""The `data` of what drivers emit, as pydantic models: HQ reads their JSON Schemas in docs/schemas/.

A driver builds each event through its model and emits `event.data()` under `event.KIND`, so what
goes upstream is what the committed schema says. Shapes every driver shares live here; a driver's
own events live in its package (`drivers/pjlink/events.py`, ...).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from .contract import DriverContext

#: Event kinds the daemon sends itself on `events/{kind}`: a device state change, every reading,
#: and the cameras' events. A driver's event under one of these would reach HQ on that topic in
#: a shape its schema does not describe, so the daemon refuses it.
DAEMON_EVENT_KINDS: frozenset[str] = frozenset({"state", "reading", "camera_state", "queue_alert"})

#: What an event kind looks like: one MQTT topic level and a schema file name, as is.
_KIND = re.compile(r"[a-z][a-z0-9_]{0,62}")


def event_kind_problem(kind: object) -> str | None:
    """Why `kind` cannot name a driver's event, or None when it can."""
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        return (
            f"event kind {kind!r} is not 1 to 63 lower-case letters, digits or '_' starting "
            "with a letter (it is the `events/{kind}` topic level)"
        )
    if kind in DAEMON_EVENT_KINDS:
        hint = "; emit readings with ctx.emit_reading" if kind == "reading" else ""
        return (
            f"event kind {kind!r} is the daemon's own (`events/{kind}`){hint}; "
            "name your events after your driver (`acme_overheat`)"
        )
    return None


class EventData(BaseModel):
    """The `data` of one event kind (`KIND`, its `events/{kind}` topic).

    A `KIND` that cannot name an event (see `event_kind_problem`) is refused when the class is
    defined, so the driver's module fails to import and `edge-agent config check` says why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    KIND: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "KIND" in cls.__dict__:  # a base class of several events may leave it out
            problem = event_kind_problem(cls.__dict__["KIND"])
            if problem is not None:
                raise TypeError(f"{cls.__module__}.{cls.__name__}.KIND: {problem}")

    def data(self) -> dict[str, Any]:
        """The record's `data`, as JSON sends it."""
        return self.model_dump(mode="json")

    def emit(self, ctx: DriverContext) -> None:
        """Hand this event to the daemon (`ctx.emit_event(KIND, data)`)."""
        ctx.emit_event(self.KIND, self.data())


_PLAIN_KINDS = frozenset("biufU")  # numpy dtype kinds JSON has a type for: bool, ints, float, str


def python_value(value: Any) -> Any:
    """A numpy scalar (or 0-d array) of a bool, int, float or str dtype as the Python value it
    holds: np.int64(3) goes as 3 and np.bool_ as true, not as 3.0 and 1.0 or refused. Anything
    else (a datetime64, a complex, not numpy at all) comes back as it is, for the JSON check to
    judge. numpy is not imported for it (the daemon may never load it)."""
    kind = type(value)
    numpy_scalar = any(c.__name__ == "generic" and c.__module__ == "numpy" for c in kind.__mro__)
    if not numpy_scalar and not (kind.__module__ == "numpy" and getattr(value, "ndim", None) == 0):
        return value
    dtype_kind = getattr(getattr(value, "dtype", None), "kind", None)
    return value.item() if dtype_kind in _PLAIN_KINDS else value


def python_data(value: Any, _path: frozenset[int] = frozenset()) -> Any:
    """`python_value` through the dicts and lists of an event's `data` (tuples become lists, as
    in JSON). A container inside itself is left as it is: the store's JSON check refuses it."""
    if isinstance(value, (dict, list, tuple)):
        if id(value) in _path:
            return value
        inside = _path | {id(value)}
        if isinstance(value, dict):
            return {k: python_data(v, inside) for k, v in value.items()}
        return [python_data(v, inside) for v in value]
    return python_value(value)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Reading(BaseModel):
    """A sampled value (`ctx.emit_reading`): every reading travels on `events/reading`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="What was sampled: `co2`, `lamp_hours`, `<unit>.<point>`...")
    value: bool | int | Annotated[float, Field(allow_inf_nan=False)] | str = Field(
        description="Integers keep every digit (a 64-bit Modbus counter may exceed 2**53)."
    )
    unit: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        description="Engineering unit (`V`, `degC`, `ppm`); absent when the driver gives none.",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _python_scalar(cls, value: Any) -> Any:
        plain = python_value(value)
        if type(plain).__module__ == "numpy":  # a datetime64 would pass as a float of its ns
            raise ValueError(f"a numpy {plain.dtype} has no JSON type: give a number or a string")
        return plain

    def data(self) -> dict[str, Any]:
        """The record's `data`: `unit` appears only when there is one."""
        return self.model_dump(mode="json", exclude_none=True)
