"""Fault knobs every emulator exposes, so tests and training can break a device on purpose."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from enum import StrEnum


class FaultAction(StrEnum):
    """What an emulator should do with the request it just read."""

    REPLY = "reply"  # answer normally
    DROP = "drop"  # read it, never answer (device went silent)
    GARBAGE = "garbage"  # answer with random bytes
    CLOSE = "close"  # close the connection
    ERROR = "error"  # answer with the protocol's error reply (`error_code`)


@dataclass
class Faults:
    """Settable at run time; an emulator consults `next_action()` before each reply."""

    delay_s: float = 0.0
    silent: bool = False
    garbage: bool = False
    disconnect: bool = False
    error_code: str | None = None

    def clear(self) -> None:
        self.delay_s, self.silent, self.garbage, self.disconnect, self.error_code = (
            0.0,
            False,
            False,
            False,
            None,
        )

    async def next_action(self) -> FaultAction:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.disconnect:
            return FaultAction.CLOSE
        if self.silent:
            return FaultAction.DROP
        if self.garbage:
            return FaultAction.GARBAGE
        if self.error_code is not None:
            return FaultAction.ERROR
        return FaultAction.REPLY


def garbage_bytes(n: int = 16) -> bytes:
    """Random bytes with a line end, so line-based peers read them as one bad reply."""
    return os.urandom(n) + b"\r"
