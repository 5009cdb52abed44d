"""Talk to the running daemon over its control socket (used by the CLI and by tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .protocol import MAX_LINE, ControlRequest, ControlResponse


class NotRunning(ConnectionError):
    """Nothing answers on the socket: the daemon is stopped, or the path or permissions are wrong."""


class ControlFailed(RuntimeError):
    """The daemon answered with an error."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


async def _open(socket_path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_unix_connection(os.fspath(socket_path), limit=MAX_LINE)
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise NotRunning(f"no edge-agent daemon answers on {socket_path}") from exc
    except PermissionError as exc:
        raise NotRunning(
            f"permission denied on {socket_path} (is your user in the edge-agent group?)"
        ) from exc


def _decode(line: bytes) -> ControlResponse:
    try:
        return ControlResponse.model_validate_json(line)
    except ValidationError as exc:
        raise ControlFailed(
            "protocol", f"unreadable answer from the daemon: {exc.error_count()} errors"
        ) from None


async def stream(
    socket_path: Path,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    timeout: float | None = 5.0,
) -> AsyncIterator[Any]:
    """Yield each result a (possibly streaming) method sends. `timeout` applies per line; None
    waits as long as it takes (`events tail --follow` on a quiet branch)."""
    reader, writer = await _open(socket_path)
    try:
        request = ControlRequest(id=1, method=method, params=params or {})
        writer.write(request.model_dump_json().encode() + b"\n")
        await writer.drain()
        streaming = False
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"the daemon did not answer {method!r} within {timeout:g} s"
                ) from None
            if not line:
                raise NotRunning("the daemon closed the connection")
            response = _decode(line)
            if not response.ok:
                err = response.error
                raise ControlFailed(
                    err.code if err else "error",
                    err.message if err else "failed",
                    err.hint if err else None,
                )
            if response.more:
                streaming = True
                yield response.result
                continue
            if not streaming:  # a plain call: its one answer; a stream ends on an empty line
                yield response.result
            return
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # the daemon may have gone already
            await writer.wait_closed()


async def call(
    socket_path: Path, method: str, params: dict[str, Any] | None = None, timeout: float = 5.0
) -> Any:
    """One request, one result. Raises NotRunning, ControlFailed or TimeoutError."""
    result: Any = None
    async for item in stream(socket_path, method, params, timeout=timeout):
        result = item
    return result
