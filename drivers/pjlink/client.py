"""Asyncio PJLink client: one TCP session, MD5 auth, request/response with timeout and retries.

Projectors differ in how long they keep a session: some close after every answer, most after
about 30 s idle. The client therefore treats "the peer closed a connection we had already used"
as normal and reopens it once for free; only a failure on a fresh connection counts as a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from ..sdk.contract import Logger
from ..sdk.errors import (
    AuthFailed,
    DeviceTimeout,
    DriverError,
    ProtocolError,
    Unreachable,
)
from .codec import (
    MAX_LINE,
    TERMINATOR,
    Response,
    auth_digest,
    encode_command,
    error_for,
    is_auth_error,
    parse_greeting,
    parse_response,
)


class _PeerClosed(Exception):
    """The projector closed the socket before answering (internal; never escapes)."""


class PJLinkClient:
    """A session to one projector. Not safe for concurrent use: callers hold a lock."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        password: str | None,
        timeout_s: float,
        retries: int,
        log: Logger,
    ) -> None:
        self._host, self._port = host, port
        self._password = password
        self._timeout = timeout_s
        self._retries = retries
        self._log = log
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._digest: str | None = None
        self._used = False
        self._in_flight = False
        #: Whether the projector asked for a password on the last connect (for probe output).
        self.auth_required = False

    @property
    def where(self) -> str:
        return f"{self._host}:{self._port}"

    async def connect(self) -> None:
        """Open the socket and read the greeting. The digest goes out with the first command."""
        await self.close()
        try:
            async with asyncio.timeout(self._timeout):
                reader, writer = await asyncio.open_connection(
                    self._host, self._port, limit=MAX_LINE
                )
        except TimeoutError:
            raise DeviceTimeout(
                f"no TCP connection to {self.where} within {self._timeout}s"
            ) from None
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise Unreachable(f"cannot connect to {self.where}: {why}") from None
        self._reader, self._writer, self._used = reader, writer, False
        try:
            line = await self._read_line("the greeting")
        except _PeerClosed:
            await self.close()
            raise Unreachable(
                f"{self.where} closed the connection before the PJLink greeting"
            ) from None
        except DriverError:
            await self.close()
            raise
        try:
            greeting = parse_greeting(line)
        except ProtocolError:
            await self.close()
            raise
        self.auth_required = greeting.auth
        self._digest = None
        if greeting.auth:
            if self._password is None:
                await self.close()
                raise AuthFailed(
                    f"projector at {self.where} requires a PJLink password; set password_file"
                )
            assert greeting.nonce is not None
            self._digest = auth_digest(greeting.nonce, self._password)
        self._log.debug("pjlink_connected", where=self.where, auth=greeting.auth)

    async def close(self) -> None:
        """Drop the session. Never raises."""
        writer, self._reader, self._writer = self._writer, None, None
        self._in_flight = False
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()

    async def request(self, command: str, param: str = "?", pjclass: int = 1) -> Response:
        """Send one command and return its (non-error) response, retrying transport failures."""
        last: DriverError | None = None
        for attempt in range(self._retries + 1):
            try:
                return await self._exchange(command, param, pjclass)
            except (DeviceTimeout, Unreachable, ProtocolError) as exc:
                await self.close()
                last = exc
                if attempt < self._retries:  # the last failure is the caller's to report
                    self._log.info(
                        "pjlink_request_retry",
                        command=command,
                        attempt=attempt + 1,
                        reason=exc.reason.value,
                        error=exc.message,
                    )
            except AuthFailed:
                await self.close()
                raise
        assert last is not None
        raise last

    async def _exchange(self, command: str, param: str, pjclass: int) -> Response:
        if self._in_flight:
            # The last request was cancelled (poll timeout) before its answer arrived; that late
            # answer would be read as the answer to this one. Start a clean session instead.
            self._log.debug("pjlink_drop_interrupted_session", where=self.where)
            await self.close()
        if self._writer is None:
            await self.connect()
        reused = self._used
        try:
            return await self._send_and_read(command, param, pjclass)
        except _PeerClosed:
            if not reused:
                raise Unreachable(
                    f"{self.where} closed the connection instead of answering {command}"
                ) from None
        # The projector dropped an idle session (normal); reopen once without spending a retry.
        self._log.debug("pjlink_reconnect_idle", where=self.where)
        await self.connect()
        try:
            return await self._send_and_read(command, param, pjclass)
        except _PeerClosed:
            raise Unreachable(
                f"{self.where} closed the connection instead of answering {command}"
            ) from None

    async def _send_and_read(self, command: str, param: str, pjclass: int) -> Response:
        assert self._writer is not None
        frame = encode_command(command, param, pjclass, self._digest)
        self._in_flight = True
        try:
            self._writer.write(frame)
            await self._writer.drain()
        except OSError:
            raise _PeerClosed from None
        self._digest = None
        line = await self._read_line(command)
        self._in_flight = False
        self._used = True
        if is_auth_error(line):
            await self.close()
            raise AuthFailed(
                f"projector at {self.where} rejected the PJLink password (PJLINK ERRA)"
            )
        response = parse_response(line)
        if response.command != command:
            raise ProtocolError(f"asked {command}, projector answered {response.command}")
        error = error_for(response)
        if error is not None:
            raise error
        return response

    async def _read_line(self, what: str) -> bytes:
        assert self._reader is not None
        try:
            async with asyncio.timeout(self._timeout):
                return await self._reader.readuntil(TERMINATOR)
        except TimeoutError:
            raise DeviceTimeout(
                f"projector at {self.where} did not answer {what} within {self._timeout}s"
            ) from None
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise ProtocolError(
                    f"projector sent a truncated line: {exc.partial[:32]!r}"
                ) from None
            raise _PeerClosed from None
        except asyncio.LimitOverrunError:
            raise ProtocolError(f"projector sent a line longer than {MAX_LINE} bytes") from None
        except OSError:
            raise _PeerClosed from None
