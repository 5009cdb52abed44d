"""Byte streams to a Modbus peer: a TCP socket or a serial port, behind one small class.

The client needs four things from a link: send bytes, read exactly n bytes before a deadline
(knowing whether *any* byte came, which separates a silent unit from a garbled one), throw away
whatever is left on the line after a failed exchange, and throw away, without waiting, whatever
came in while no request was outstanding.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from drivers.sdk import Unreachable


class LinkTimeout(Exception):
    """The deadline passed; `received` says how many bytes of the wanted n did arrive."""

    def __init__(self, received: int) -> None:
        super().__init__(f"timed out after {received} bytes")
        self.received = received


class Link:
    """A connected stream. Raises Unreachable when the peer closes or the port disappears."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, label: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.label = label

    async def send(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise Unreachable(f"{self.label}: write failed: {exc}") from None

    async def read_exactly(self, n: int, deadline: float) -> bytes:
        """n bytes, or LinkTimeout at `deadline` (loop.time()), or Unreachable on EOF."""
        buf = bytearray()
        loop = asyncio.get_running_loop()
        while len(buf) < n:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LinkTimeout(len(buf))
            try:
                chunk = await asyncio.wait_for(self._reader.read(n - len(buf)), remaining)
            except TimeoutError:
                raise LinkTimeout(len(buf)) from None
            except OSError as exc:
                raise Unreachable(f"{self.label}: read failed: {exc}") from None
            if not chunk:
                raise Unreachable(f"{self.label}: connection closed by the device")
            buf += chunk
        return bytes(buf)

    async def discard_pending(self, quiet_s: float = 0.03, limit_s: float = 0.5) -> int:
        """Drop bytes until the line has been quiet for `quiet_s` (bounded by `limit_s`)."""
        dropped = 0
        stop_at = time.monotonic() + limit_s
        while time.monotonic() < stop_at:
            try:
                chunk = await asyncio.wait_for(self._reader.read(4096), quiet_s)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            dropped += len(chunk)
        return dropped

    async def drop_received(self) -> int:
        """Drop the bytes that have already arrived, without waiting for more; how many there were.

        One pass of the loop first lets it take in what the kernel already holds; a read then
        returns buffered bytes without yielding, so the zero timeout only ends the read that
        would have waited.
        """
        await asyncio.sleep(0)
        dropped = 0
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(0):
                while chunk := await self._reader.read(4096):
                    dropped += len(chunk)
        return dropped

    async def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.close()
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)


async def open_tcp(host: str, port: int, timeout_s: float) -> Link:
    label = f"{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except TimeoutError:
        raise Unreachable(f"{label}: no TCP connection within {timeout_s:g} s") from None
    except ConnectionRefusedError:
        raise Unreachable(f"{label}: connection refused (nothing listening on that port)") from None
    except OSError as exc:
        raise Unreachable(f"{label}: {exc.strerror or exc}") from None
    return Link(reader, writer, label)


async def open_serial(path: str, baudrate: int, parity: str, stopbits: int) -> Link:
    """Open an RS-485 adapter (8 data bits). pyserial loads only here."""
    import serial
    from serial_asyncio_fast import open_serial_connection

    try:
        reader, writer = await open_serial_connection(
            url=path, baudrate=baudrate, parity=parity, stopbits=stopbits, bytesize=8
        )
    except (OSError, serial.SerialException, ValueError) as exc:
        raise Unreachable(f"{path}: cannot open serial port: {exc}") from None
    return Link(reader, writer, path)
