"""A PJLink projector on the wire: TCP 4352 sessions plus the class 2 UDP search and notifications.

Used by the tests, `make demo` and for training. It speaks like real projectors: a `PJLINK 0|1`
greeting, an MD5 digest with the first command, `PJLINK ERRA` and a hang-up on a wrong one, and
either a persistent session (closed after `idle_timeout_s`, 30 s on most models) or one command
per connection. `faults` breaks it on purpose (delay, silence, garbage, hang-up, error replies).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from typing import Any

from ..sdk.errors import AuthFailed, DriverError
from ..sdk.faults import FaultAction, Faults, garbage_bytes
from ..sdk.listen import TcpService, open_udp
from ..sdk.secret_file import read_secret_file
from ..sdk.types import Reason
from .codec import MAX_LINE, SEARCH_REQUEST, auth_digest
from .config import PJLinkConfig
from .projector import ProjectorModel

_FRAME_RE = re.compile(r"%([1-9])([A-Za-z0-9]{4}) ?(.*)", re.DOTALL)


class PJLinkEmulator:
    """An emulated projector listening on `host:port` (TCP) and `host:udp_port` (UDP)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4352,
        *,
        password: str | None = None,
        model: ProjectorModel | None = None,
        persistent: bool = True,
        idle_timeout_s: float = 30.0,
        udp_port: int | None = None,
        notify_to: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self.password = password
        self.model = model or ProjectorModel()
        self.persistent = persistent
        self.idle_timeout_s = idle_timeout_s
        self.notify_to = notify_to
        self.faults = Faults()
        self._port = port
        self._udp_port = port if udp_port is None else udp_port
        self._tcp = TcpService(self._session, name="pjlink-emulator", limit=MAX_LINE)
        self._udp: asyncio.DatagramTransport | None = None
        self._settle_timer: asyncio.TimerHandle | None = None
        self.model.on_change = self._on_change

    @property
    def sessions(self) -> int:
        """TCP sessions accepted so far (tests use it to see reconnects)."""
        return self._tcp.accepted

    @property
    def port(self) -> int:
        return self._tcp.port or self._port

    @property
    def udp_port(self) -> int:
        if self._udp is None:
            return self._udp_port
        return int(self._udp.get_extra_info("sockname")[1])

    async def start(self) -> None:
        """Listen on TCP and UDP; PortInUse (naming the port) when either is taken."""
        await self._tcp.start(self.host, self._port)
        try:
            self._udp = await open_udp(lambda: _UdpSide(self), self.host, self._udp_port)
        except BaseException:
            await self._tcp.stop()
            raise

    async def stop(self) -> None:
        if self._settle_timer is not None:
            self._settle_timer.cancel()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        await self._tcp.stop()

    def describe(self) -> str:
        auth = "password" if self.password else "no auth"
        where = f"tcp/udp {self.host}:{self.port}"
        if self.udp_port != self.port:
            where = f"tcp {self.host}:{self.port}, udp {self.udp_port}"
        return (
            f"PJLink class {self.model.pjclass} projector {self.model.model!r} on {where} "
            f"({auth}, power {self.model.power})"
        )

    def send_linkup(self) -> None:
        """Announce `%2LKUP=<mac>`, as a projector does when its network comes up."""
        self._on_change("LKUP", self.model.mac)

    # --- TCP -------------------------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        action = await self.faults.next_action()
        if action is FaultAction.CLOSE:
            return
        if action is FaultAction.DROP:
            await reader.read()  # say nothing until the controller gives up
            return
        nonce = secrets.token_hex(4) if self.password else None
        greeting = f"PJLINK 1 {nonce}\r".encode() if nonce else b"PJLINK 0\r"
        writer.write(garbage_bytes() if action is FaultAction.GARBAGE else greeting)
        await writer.drain()
        authed = nonce is None
        while True:
            async with asyncio.timeout(self.idle_timeout_s):
                line = await reader.readuntil(b"\r")
            text = line.decode("latin-1").rstrip("\r").lstrip("\n")
            if not authed:
                assert nonce is not None
                assert self.password is not None
                if text[:32] != auth_digest(nonce, self.password):
                    writer.write(b"PJLINK ERRA\r")
                    await writer.drain()
                    return
                authed, text = True, text[32:]
            reply = await self._reply(text)
            if reply is None:
                return
            if reply:
                writer.write(reply)
                await writer.drain()
            if not self.persistent:
                return

    async def _reply(self, text: str) -> bytes | None:
        """Bytes to send back; b"" to stay silent; None to hang up."""
        match = _FRAME_RE.fullmatch(text)
        action = await self.faults.next_action()
        if action is FaultAction.CLOSE:
            return None
        if action is FaultAction.DROP:
            return b""
        if action is FaultAction.GARBAGE:
            return garbage_bytes()
        if match is None:
            return b""  # not a command at all: real projectors ignore it
        pjclass, command = int(match.group(1)), match.group(2).upper()
        if action is FaultAction.ERROR:
            code = (self.faults.error_code or "ERR4").upper()
            if code == "ERRA":
                return b"PJLINK ERRA\r"
            param = code if code.startswith("ERR") else f"ERR{code}"
        else:
            param = self.model.answer(pjclass, command, match.group(3))
        return f"%{pjclass}{command}={param}\r".encode()

    # --- UDP: search and notifications -----------------------------------------------------

    def _on_change(self, command: str, param: str) -> None:
        if command == "POWR" and param in ("2", "3"):
            self._schedule_settle()
        if self.notify_to is None or self._udp is None or self.model.pjclass < 2:
            return
        self._udp.sendto(f"%2{command}={param}\r".encode(), self.notify_to)

    def _schedule_settle(self) -> None:
        seconds = self.model.warmup_s if self.model.power == "warming" else self.model.cooldown_s
        with contextlib.suppress(RuntimeError):  # no running loop: state was set outside asyncio
            loop = asyncio.get_running_loop()
            if self._settle_timer is not None:
                self._settle_timer.cancel()
            self._settle_timer = loop.call_later(seconds, self.model.settle)

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.strip(b"\r\n") == SEARCH_REQUEST.rstrip(b"\r") and self.model.pjclass >= 2:
            assert self._udp is not None
            self._udp.sendto(f"%2ACKN={self.model.mac}\r".encode(), addr)


class _UdpSide(asyncio.DatagramProtocol):
    def __init__(self, emulator: PJLinkEmulator) -> None:
        self._emulator = emulator

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._emulator._on_datagram(data, (str(addr[0]), int(addr[1])))


def from_config(config: PJLinkConfig) -> PJLinkEmulator:
    """An emulator standing where `config` points, with that config's password and inputs."""
    password = None
    if config.password_file:
        try:
            password = read_secret_file(config.password_file)
        except AuthFailed as exc:
            raise DriverError(exc.message, reason=Reason.CONFIG_ERROR) from None
    model = ProjectorModel(
        pjclass=1 if config.pjlink_class == "1" else 2,
        warmup_s=3.0,
        cooldown_s=3.0,
        name=config.name or config.id,
    )
    for code in config.input_names.values():
        if code not in model.inputs:
            model.inputs.append(code)
    notify_to = ("127.0.0.1", config.notify_port) if config.notify_port else None
    return PJLinkEmulator(
        config.host, config.port, password=password, model=model, notify_to=notify_to
    )
