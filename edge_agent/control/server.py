"""The daemon's end of the control socket: dispatch each request line to a named handler."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from .protocol import MAX_LINE, ControlError, ControlRequest, ControlResponse

log = structlog.get_logger("edge_agent.control")

#: A handler returns a result, or an async iterator of results for streaming methods.
Handler = Callable[[dict[str, Any]], Awaitable[Any] | AsyncIterator[Any]]


class HandlerError(Exception):
    """Raised by a handler to answer with a specific error code (e.g. `not_found`)."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


class ControlServer:
    def __init__(self, socket_path: Path, handlers: Mapping[str, Handler]) -> None:
        self._path = socket_path
        self._handlers = dict(handlers)
        self._server: asyncio.Server | None = None
        self._stopped = False

    async def start(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()  # a stale socket from a crashed run
        self._server = await asyncio.start_unix_server(
            self._serve, os.fspath(self._path), limit=MAX_LINE
        )
        os.chmod(self._path, 0o660)
        log.info("control_listening", socket=str(self._path))

    async def watch(self, interval_s: float = 2.0) -> None:
        """Listen again when the socket file is removed under us (a cleanup of /run, an `rm`):
        the daemon keeps running, and without this every CLI command would say it was not.
        A failure to listen again is logged once as an error, then at debug until it works."""
        failing = False
        while not self._stopped:
            await asyncio.sleep(interval_s)
            here = os.path.lexists(self._path)  # noqa: ASYNC240 - one lstat in /run, every 2 s
            if self._stopped or here:
                continue
            if self._server is not None:
                self._server.close()  # stop accepting; open connections (a `tail -f`) go on
                self._server = None
            try:
                await self.start()
            except OSError as exc:
                say = log.debug if failing else log.error
                say("control_socket_lost", socket=str(self._path), error=exc.strerror)
                failing = True
                continue
            if self._stopped:  # stop() ran while we were listening again: leave nothing behind
                await self.stop()
                return
            failing = False
            log.warning(
                "control_socket_recreated", socket=str(self._path), detail="the file was removed"
            )

    async def stop(self) -> None:
        self._stopped = True
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                await self._answer(line, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except ValueError:  # line longer than MAX_LINE
            await self._send(
                writer,
                ControlResponse(
                    ok=False, error=ControlError(code="too_large", message="request too large")
                ),
            )
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _send(self, writer: asyncio.StreamWriter, response: ControlResponse) -> None:
        writer.write(response.model_dump_json().encode() + b"\n")
        await writer.drain()

    async def _answer(self, line: bytes, writer: asyncio.StreamWriter) -> None:
        try:
            request = ControlRequest.model_validate_json(line)
        except ValidationError as exc:
            await self._send(
                writer,
                ControlResponse(
                    ok=False,
                    error=ControlError(
                        code="malformed", message=f"bad request: {exc.error_count()} errors"
                    ),
                ),
            )
            return
        handler = self._handlers.get(request.method)
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            await self._send(
                writer,
                ControlResponse(
                    id=request.id,
                    ok=False,
                    error=ControlError(
                        code="unknown_method",
                        message=f"unknown method {request.method!r}",
                        hint=f"methods: {known}",
                    ),
                ),
            )
            return
        try:
            outcome = handler(request.params)
            if inspect.isasyncgen(outcome):
                async with contextlib.aclosing(outcome):  # a client gone: the stream ends now
                    async for item in outcome:
                        await self._send(
                            writer, ControlResponse(id=request.id, ok=True, result=item, more=True)
                        )
                await self._send(
                    writer, ControlResponse(id=request.id, ok=True, result=None, more=False)
                )
            else:
                result = await outcome  # type: ignore[misc]
                await self._send(writer, ControlResponse(id=request.id, ok=True, result=result))
        except HandlerError as exc:
            await self._send(
                writer,
                ControlResponse(
                    id=request.id,
                    ok=False,
                    error=ControlError(code=exc.code, message=exc.message, hint=exc.hint),
                ),
            )
        except ConnectionError:
            raise
        except Exception as exc:  # a handler bug must not kill the socket for everyone
            log.exception("control_handler_failed", method=request.method)
            await self._send(
                writer,
                ControlResponse(
                    id=request.id,
                    ok=False,
                    error=ControlError(code="internal", message=f"{type(exc).__name__}: {exc}"),
                ),
            )
