"""An in-memory DriverContext for driver unit tests (imports nothing from the daemon)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .secret_file import read_secret_file


class ListLogger:
    """Keeps (level, event, fields) tuples so a test can assert what a driver logged."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def _log(self, level: str, event: str, /, **kw: Any) -> None:
        self.records.append((level, event, kw))

    def debug(self, event: str, /, **kw: Any) -> None:
        self._log("debug", event, **kw)

    def info(self, event: str, /, **kw: Any) -> None:
        self._log("info", event, **kw)

    def warning(self, event: str, /, **kw: Any) -> None:
        self._log("warning", event, **kw)

    def error(self, event: str, /, **kw: Any) -> None:
        self._log("error", event, **kw)


@dataclass
class RecordingContext:
    """Collects what a driver emits. `clock` can be replaced to control time."""

    device_id: str = "dev-1"
    log: ListLogger = field(default_factory=ListLogger)  # satisfies the read-only `log: Logger`
    readings: list[tuple[str, float | int | bool | str, str | None]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clock: Any = time.time
    memory: dict[str, Any] = field(default_factory=dict)  # reuse the context to restart a driver

    def now(self) -> float:
        return float(self.clock())

    def emit_reading(
        self, name: str, value: float | int | bool | str, unit: str | None = None
    ) -> None:
        self.readings.append((name, value, unit))

    def emit_event(self, kind: str, data: Mapping[str, Any]) -> None:
        self.events.append((kind, dict(data)))

    def read_secret(self, path: Path) -> str:
        return read_secret_file(path)
