"""Listening sockets for emulators (and the odd driver that listens), with typed bind errors.

Every emulator binds the address its device config names, and on a training PC or a busy CI box
that port is often taken. `edge-agent simulate` and `make demo` print a DriverError and carry on
with the other devices, so a failed bind must become `PortInUse` naming the port, never a bare
OSError. `TcpService` also owns the per-connection bookkeeping every TCP emulator needs: count
connections, end the handlers on `stop()`, and treat a peer that vanishes as normal.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from collections.abc import Awaitable, Callable

from .errors import PortInUse

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

#: What a client vanishing mid-session looks like to a handler; the session just ends.
PEER_GONE: tuple[type[BaseException], ...] = (
    OSError,  # ssl.SSLError and ConnectionResetError are OSErrors too
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    TimeoutError,
)


def bind_error(kind: str, host: str, port: int, exc: OSError | None = None) -> PortInUse:
    """The typed error for an address that cannot be bound; `exc` supplies the reason if known."""
    if exc is None:
        exc = _probe_bind(kind, host, port)
    why = _reason(exc) if exc else "the address is refused"
    hint = " (another program on that port?)" if exc and exc.errno == errno.EADDRINUSE else ""
    return PortInUse(f"cannot listen on {kind} {host}:{port}: {why}{hint}")


def _reason(exc: OSError) -> str:
    """The OS's words for `exc`. asyncio words a bind error its own way, so the errno is asked;
    a name lookup's negative codes (a host that does not resolve) are not errnos."""
    if isinstance(exc, socket.gaierror) or not exc.errno or exc.errno < 0:
        return exc.strerror or str(exc)
    return os.strerror(exc.errno)


def _probe_bind(kind: str, host: str, port: int) -> OSError | None:
    """Bind once more to learn why a library that swallowed the OSError could not listen."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    try:
        infos = socket.getaddrinfo(host, port, type=sock_type)
        with socket.socket(infos[0][0], sock_type) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio binds
            sock.bind(infos[0][4])
    except OSError as exc:
        return exc
    return None


class TcpService:
    """A TCP listener whose connection handlers are tracked, so `stop()` really ends them."""

    def __init__(self, handler: Handler, *, name: str, limit: int = 2**16) -> None:
        self._handler = handler
        self._name = name
        self._limit = limit
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._port = 0
        #: Connections accepted so far (tests use it to see a driver reconnect).
        self.accepted = 0

    @property
    def port(self) -> int:
        """The bound port (useful when 0 was asked for); before `start()`, 0."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port. Raises PortInUse naming the port when it cannot be bound."""
        self._port = port
        try:
            self._server = await asyncio.start_server(self._serve, host, port, limit=self._limit)
        except OSError as exc:
            raise bind_error("tcp", host, port, exc) from None
        self._port = self.port  # keep the bound port after stop(), to restart on the same one

    async def stop(self) -> None:
        """Stop listening and end every open session (bounded). Never raises."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        # Python 3.11's wait_closed() does not wait for handlers; end the sessions ourselves.
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(list(self._sessions), timeout=2.0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        task.set_name(f"{self._name}.session[{self.accepted}]")
        self._sessions.add(task)
        try:
            await self._handler(reader, writer)
        except PEER_GONE:
            pass  # the peer went away or sent junk; a device just drops the session
        except asyncio.CancelledError:
            # Only stop() cancels sessions. Ending quietly keeps asyncio's stream callback from
            # reporting the cancelled handler as an unhandled error.
            pass
        finally:
            self._sessions.discard(task)
            writer.close()


async def open_udp(
    protocol: Callable[[], asyncio.DatagramProtocol], host: str, port: int
) -> asyncio.DatagramTransport:
    """Bind a UDP endpoint on host:port; raises PortInUse naming the port."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(protocol, local_addr=(host, port))
    except OSError as exc:
        raise bind_error("udp", host, port, exc) from None
    return transport
