"""A Samsung MDC display on the wire: TCP 1515 (optionally secured: TLS + PIN) or a serial pty.

Tests, `make demo` and trainees talk to it exactly as to a real screen. Its state is
`emulator.state` and its misbehaviour is `emulator.faults` (delay, silence, garbage, disconnect,
NAK with `error_code`). On a serial line "disconnect" means silence: RS-232 has no hang-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
from typing import Any

from ..sdk import ProtocolError, Unreachable, read_secret_file
from ..sdk.faults import FaultAction, Faults, garbage_bytes
from ..sdk.listen import TcpService
from ..sdk.pty import PtyPair
from .codec import FrameDecoder, encode_reply
from .config import MDCConfig
from .device import NAK_UNSUPPORTED, DisplayState, EmulatedDisplay
from .secure import AUTH_PASS, BANNER, FAIL_WRONG_PIN, auth_fail_reply


def _self_signed() -> ssl.SSLContext:
    """A throwaway server certificate, like the per-unit one a display generates."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Unreachable("openssl is not installed; the secured-mode emulator needs it")
    tmp = tempfile.mkdtemp(prefix="mdc-tls-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        argv = [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ]
        argv += ["-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mdc-emulator"]
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=30)  # noqa: S603 - fixed argv, no user input
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        except (subprocess.SubprocessError, OSError) as exc:  # ssl.SSLError is an OSError
            raise Unreachable(
                f"cannot make the secured-mode emulator's certificate: {exc}"
            ) from None
        return ctx
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class MDCEmulator:
    """One emulated display. Give `serial_path` for RS-232, else it listens on host:port."""

    def __init__(
        self,
        *,
        display_id: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        serial_path: str | None = None,
        baudrate: int = 9600,
        secured: bool = False,
        pin: str = "0000",
        state: DisplayState | None = None,
        pty: PtyPair | None = None,
    ) -> None:
        self.display = EmulatedDisplay(display_id, state)
        self.faults = Faults()
        self.host, self.port = host, port
        self.serial_path, self.baudrate = serial_path, baudrate
        self.secured, self.pin = secured, pin
        #: Frames addressed to this display, whatever the faults did with them.
        self.received = 0
        self._pty = pty
        self._tcp = TcpService(self._on_client, name="mdc-emulator")
        self._serial_task: asyncio.Task[None] | None = None
        self._tls: ssl.SSLContext | None = None

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (tests use it to see a driver reconnect)."""
        return self._tcp.accepted

    @property
    def state(self) -> DisplayState:
        return self.display.state

    def describe(self) -> str:
        s = self.state
        where = (
            f"serial {self._pty.host_path if self._pty else self.serial_path}"
            if self._serial_mode
            else (f"tcp {self.host}:{self.port}{' (secured, TLS + PIN)' if self.secured else ''}")
        )
        return f"Samsung MDC display {s.model_name} id {self.display.display_id} on {where}"

    @property
    def _serial_mode(self) -> bool:
        return self.serial_path is not None or self._pty is not None

    async def start(self) -> None:
        """Listen on TCP, or open the serial line; PortInUse names a taken port or path."""
        if not self._serial_mode:
            if self.secured:
                self._tls = await asyncio.to_thread(_self_signed)
            await self._tcp.start(self.host, self.port)
            self.port = self._tcp.port
            return
        try:
            await self._open_serial()
        except BaseException:  # a half-open line must not keep socat running
            await self.stop()
            raise

    async def _open_serial(self) -> None:
        if self._pty is not None:
            await self._pty.start()
            self.serial_path = str(self._pty.device_path)
        assert self.serial_path is not None
        import serial_asyncio_fast

        try:
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.serial_path, baudrate=self.baudrate
            )
        except OSError as exc:  # serial.SerialException is an OSError too
            raise Unreachable(f"emulator cannot open {self.serial_path}: {exc}") from None
        self._serial_task = asyncio.create_task(
            self._serve(reader, writer, can_close=False), name="mdc-emulator.serial"
        )

    async def stop(self) -> None:
        await self._tcp.stop()
        if self._serial_task is not None:
            self._serial_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._serial_task
            self._serial_task = None
        if self._pty is not None:
            await self._pty.stop()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tls is None or await self._authenticate(reader, writer, self._tls):
            await self._serve(reader, writer, can_close=True)

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: ssl.SSLContext
    ) -> bool:
        writer.write(BANNER)
        await writer.drain()
        await writer.start_tls(tls)
        pin = await reader.read(16)
        ok = pin == self.pin.encode("ascii")
        writer.write(AUTH_PASS if ok else auth_fail_reply(FAIL_WRONG_PIN))
        await writer.drain()
        return ok

    async def _serve(self, reader: Any, writer: Any, *, can_close: bool) -> None:
        decoder = FrameDecoder()
        while chunk := await reader.read(512):
            decoder.feed(chunk)
            while True:
                try:
                    frame = decoder.next_frame()
                except ProtocolError:
                    continue  # a real display ignores a frame with a bad checksum
                if frame is None:
                    break
                if not self.display.addressed(frame):
                    continue
                self.received += 1
                action = await self.faults.next_action()
                if action is FaultAction.CLOSE and can_close:
                    return
                if action in (FaultAction.DROP, FaultAction.CLOSE):
                    continue
                if action is FaultAction.GARBAGE:
                    writer.write(garbage_bytes())
                elif action is FaultAction.ERROR:
                    self.display.seen.append(frame)
                    if frame.display_id == self.display.display_id:
                        writer.write(encode_reply(self.display.nak(frame.cmd, self._error_code())))
                elif (reply := self.display.handle(frame)) is not None:
                    writer.write(encode_reply(reply))
                await writer.drain()

    def _error_code(self) -> int:
        try:
            return int(self.faults.error_code or "", 0) & 0xFF
        except ValueError:
            return NAK_UNSUPPORTED


def from_config(config: MDCConfig) -> MDCEmulator:
    """An emulator listening where `config` points (a pty linked at its serial port path)."""
    pin = "0000"
    if config.pin_file is not None and config.pin_file.exists():
        pin = read_secret_file(config.pin_file).rjust(4, "0")
    if config.serial is not None:
        return MDCEmulator(
            display_id=config.display_id if config.display_id != 0xFE else 0,
            pty=PtyPair(config.serial.port),
            baudrate=config.serial.baudrate,
        )
    return MDCEmulator(
        display_id=config.display_id if config.display_id != 0xFE else 0,
        host=config.host or "127.0.0.1",
        port=config.port,
        secured=config.secured,
        pin=pin,
    )
