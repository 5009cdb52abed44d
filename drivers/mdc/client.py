"""Asyncio MDC client: one connection (TCP, TLS+PIN or RS-232), one request at a time.

A reader task pumps bytes through the frame decoder into a queue, so a request only has to
clear stale replies, write, and wait for the reply that names its command and display id.
Every failure leaves as a typed `drivers.sdk` error:

- connect refused / port missing / peer closed -> Unreachable
- nothing in time -> DeviceTimeout (after `retries` more attempts)
- noise or bad checksum -> ProtocolError
- NAK -> DeviceReportedError
- secured display without a PIN, or wrong PIN -> AuthFailed
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..sdk import (
    AuthFailed,
    DeviceReportedError,
    DeviceTimeout,
    DriverError,
    Logger,
    ProtocolError,
    Unreachable,
)
from .codec import Frame, FrameDecoder, Reply, encode_request, parse_reply
from .config import MDCConfig
from .messages import Cmd
from .secure import BANNER, client_handshake

#: Noise a request may read before it gives up at once. Line noise on RS-232 is a few bytes;
#: more is a peer that streams something else (a camera or web port given by mistake), which
#: would otherwise keep the daemon's CPU busy reading it until `timeout_s`.
NOISE_MAX = 64 * 1024

_CLOSED = object()


def _secured_required() -> AuthFailed:
    return AuthFailed(
        "display requires MDC secured mode (TLS + PIN): set `secured: true` and `pin_file`, "
        "or turn Secured Protocol off in the display's MDC menu"
    )


def _cmd_name(cmd: int) -> str:
    try:
        return Cmd(cmd).name
    except ValueError:
        return f"0x{cmd:02x}"


async def open_stream(
    config: MDCConfig, limit_s: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the configured transport. pyserial-asyncio-fast loads only for serial configs."""
    where = config.endpoint()
    try:
        if config.serial is not None:
            import serial_asyncio_fast

            s = config.serial
            coro: Any = serial_asyncio_fast.open_serial_connection(
                url=s.port,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
            )
        else:
            coro = asyncio.open_connection(config.host, config.port)
        reader, writer = await asyncio.wait_for(coro, limit_s)
    except TimeoutError:
        raise Unreachable(
            f"no answer from {where} within {limit_s:g}s (host down or firewalled?)"
        ) from None
    except OSError as exc:  # serial.SerialException is an OSError too
        raise Unreachable(f"cannot open {where}: {exc.strerror or exc}") from None
    return reader, writer


class MDCClient:
    """Request/response over one MDC link. Not re-entrant: callers hold their own lock."""

    def __init__(self, config: MDCConfig, log: Logger, pin: bytes | None = None) -> None:
        self._config = config
        self._log = log
        self._pin = pin
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._decoder = FrameDecoder()
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._closed_reason = "not connected"
        self._noise = False

    @property
    def connected(self) -> bool:
        return self._pump is not None and not self._pump.done()

    async def connect(self) -> None:
        """Open the link (and run the secured-mode handshake when configured)."""
        await self.close()
        timeout = self._config.timeout_s
        reader, writer = await open_stream(self._config, timeout)
        try:
            if self._config.secured:
                assert self._pin is not None
                await client_handshake(reader, writer, self._pin, timeout)
        except BaseException:  # typed errors and cancellation alike must not leak the socket
            writer.close()
            raise
        self._reader, self._writer = reader, writer
        self._decoder.clear()
        self._inbox = asyncio.Queue()
        self._closed_reason = "connection closed by the display"
        self._noise = False
        self._pump = asyncio.create_task(
            self._read_loop(reader), name=f"mdc[{self._config.id}].reader"
        )

    async def close(self) -> None:
        """Drop the link; never raises."""
        pump, writer = self._pump, self._writer
        self._pump = self._reader = self._writer = None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while chunk := await reader.read(512):
                self._decoder.feed(chunk)
                while True:
                    try:
                        frame = self._decoder.next_frame()
                    except ProtocolError as exc:
                        self._inbox.put_nowait(exc)
                        continue
                    if frame is None:
                        break
                    self._inbox.put_nowait(frame)
                if BANNER in self._decoder.junk:
                    self._decoder.junk.clear()
                    self._inbox.put_nowait(_secured_required())
                if self._decoder.discarded > NOISE_MAX:  # a stream, not a display: stop reading
                    self._noise = True
                    self._closed_reason = (
                        f"sent over {NOISE_MAX} bytes that are not MDC frames "
                        "(is this port a display's MDC port?)"
                    )
                    break
        except OSError as exc:
            self._closed_reason = f"link to display failed: {exc.strerror or exc}"
        self._inbox.put_nowait(_CLOSED)

    def _closed(self) -> DriverError:
        """Why the link is gone: a peer that streamed noise is a protocol error, not unreachable."""
        if self._noise:
            return ProtocolError(f"{self._config.endpoint()}: {self._closed_reason}")
        return Unreachable(f"{self._config.endpoint()}: {self._closed_reason}")

    def _flush(self) -> None:
        """Forget replies that arrived after an earlier request gave up on them."""
        while not self._inbox.empty():
            item = self._inbox.get_nowait()
            if item is _CLOSED:
                raise self._closed()
            if isinstance(item, AuthFailed):
                raise item
        self._decoder.clear()

    async def request(self, cmd: int, data: bytes = b"") -> bytes:
        """Send one command and return the ACK data; retries timeouts and garbled replies."""
        attempts = self._config.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._exchange(cmd, data)
            except (DeviceTimeout, ProtocolError) as exc:
                if attempt == attempts:
                    raise
                self._log.info(
                    "mdc_request_retry",
                    command=_cmd_name(cmd),
                    attempt=attempt,
                    reason=exc.reason.value,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_only(self, cmd: int, data: bytes = b"") -> None:
        """Write without waiting: broadcast (id 0xFE) commands are obeyed but never answered."""
        self._write(encode_request(cmd, self._config.display_id, data))
        await self._drain()

    def _write(self, wire: bytes) -> None:
        if self._writer is None or not self.connected:
            raise self._closed()
        self._flush()
        self._writer.write(wire)

    async def _drain(self) -> None:
        assert self._writer is not None
        try:
            await asyncio.wait_for(self._writer.drain(), self._config.timeout_s)
        except TimeoutError:
            raise DeviceTimeout("display is not taking bytes (write timed out)") from None
        except OSError as exc:
            raise Unreachable(
                f"{self._config.endpoint()}: write failed: {exc.strerror or exc}"
            ) from None

    async def _exchange(self, cmd: int, data: bytes) -> bytes:
        self._write(encode_request(cmd, self._config.display_id, data))
        await self._drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.timeout_s
        while True:
            try:
                item = await asyncio.wait_for(self._inbox.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise self._timeout_error(cmd) from None
            if item is _CLOSED:
                raise self._closed()
            if isinstance(item, DriverError):
                raise item
            assert isinstance(item, Frame)
            reply = parse_reply(item)
            if reply.display_id != self._config.display_id or reply.rcmd != cmd:
                self._log.debug("mdc_stray_reply", rcmd=reply.rcmd, display_id=reply.display_id)
                continue
            return self._ack_data(cmd, reply)

    def _ack_data(self, cmd: int, reply: Reply) -> bytes:
        if reply.ack:
            return reply.data
        code = reply.error_code
        raise DeviceReportedError(
            f"display refused {_cmd_name(cmd)} (NAK, error code 0x{code:02x}); "
            "the model may not support it or the value is out of range"
        )

    def _timeout_error(self, cmd: int) -> DriverError:
        if self._decoder.discarded or self._decoder.pending:
            noise = self._decoder.discarded + self._decoder.pending
            return ProtocolError(
                f"display sent {noise} bytes that are not a valid MDC reply to {_cmd_name(cmd)}"
            )
        return DeviceTimeout(
            f"no reply to {_cmd_name(cmd)} from display id {self._config.display_id} "
            f"at {self._config.endpoint()} within {self._config.timeout_s:g}s"
        )
