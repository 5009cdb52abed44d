"""Wire models of the control socket. One JSON object per line in each direction.

A request gets one response line, or for streaming methods (`events.tail` with follow, `sync.now`)
several lines with `more: true` followed by a last one with `more: false`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_LINE = 1 << 20  # a request larger than 1 MiB is refused


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = 0
    method: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class ControlError(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ControlResponse(BaseModel):
    id: int = 0
    ok: bool
    result: Any = None
    error: ControlError | None = None
    more: bool = False
