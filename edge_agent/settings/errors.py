"""Config errors that point at FILE:LINE:COL, all reported at once, each with a hint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
