"""Config errors that point at FILE:LINE:COL, all reported at once, each with a hint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.sdk.messages import validation_message

# Pydantic messages that speak Python (class names, "field") instead of YAML.
_PLAIN = {
    "missing": "required key is missing",
    "model_type": "Input should be a mapping (`key: value` lines or `{key: value}`)",
    "dict_type": "Input should be a mapping (`key: value` lines or `{key: value}`)",
}


def plain_message(err: Mapping[str, Any]) -> str:
    """The message of one pydantic error entry (`ValidationError.errors()`), in the config's words:
    our own validators' messages without pydantic's `Value error, ` prefix, no class names."""
    return validation_message(err, _PLAIN)


@dataclass(frozen=True)
class ConfigIssue:
    file: Path
    line: int  # 1-based
    col: int  # 1-based
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        tail = f" ({self.hint})" if self.hint else ""
        return f"{self.file}:{self.line}:{self.col}: {self.message}{tail}"


class ConfigError(Exception):
    """The config cannot be used. `issues` holds every problem found, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (str(i.file), i.line, i.col))
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(frozen=True)
class ConfigWarning(ConfigIssue):
    """Something the config names that is not on this PC now; the daemon starts anyway."""

    def __str__(self) -> str:
        tail = f" ({self.hint})" if self.hint else ""
        return f"{self.file}:{self.line}:{self.col}: warning: {self.message}{tail}"
