"""An asyncio Modbus master: one request at a time, with timeout, retries and typed errors.

Failure mapping (the reason codes a field engineer sees):
- connection refused / closed, port missing -> Unreachable
- nothing at all came back in time -> DeviceTimeout (also exception 0x0B from a TCP->RTU gateway)
- bytes came back but are not a frame (CRC, header, length), or a frame that answers no request
  we are waiting for -> ProtocolError (FrameError); a TCP connection is then reopened
- a Modbus exception reply -> InvalidArgument (illegal address/value), Unsupported (illegal
  function), DeviceReportedError (device failure, busy...), Unreachable (gateway path unavailable)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from drivers.sdk import (
    DeviceReportedError,
    DeviceTimeout,
    DriverError,
    InvalidArgument,
    Logger,
    ProtocolError,
    Reason,
    Unreachable,
    Unsupported,
)

from . import codec
from .codec import ExceptionCode, ExceptionReply, Function, Reply
from .errors import FrameError
from .transport import Link, LinkTimeout

Framing = Literal["tcp", "rtu"]
LinkOpener = Callable[[], Awaitable[Link]]


class ModbusExceptionError(DeviceReportedError):
    """The unit answered with a Modbus exception; `code` is the exception code."""

    def __init__(self, message: str, code: int, *, reason: Reason | None = None) -> None:
        super().__init__(message, reason=reason)
        self.code = code


def exception_error(unit_id: int, reply: ExceptionReply) -> DriverError:
    """The SDK error for a Modbus exception reply, keeping the code in the message."""
    code = f"{reply.code:#04x} {reply.name}"
    text = f"unit {unit_id} replied exception {code} to function {reply.function}"
    if reply.code in (ExceptionCode.ILLEGAL_DATA_ADDRESS, ExceptionCode.ILLEGAL_DATA_VALUE):
        return InvalidArgument(text)
    if reply.code == ExceptionCode.ILLEGAL_FUNCTION:
        return Unsupported(text)
    if reply.code == ExceptionCode.GATEWAY_TARGET_FAILED:
        return DeviceTimeout(text)
    if reply.code == ExceptionCode.GATEWAY_PATH_UNAVAILABLE:
        return Unreachable(text)
    busy = reply.code in (ExceptionCode.SERVER_DEVICE_BUSY, ExceptionCode.ACKNOWLEDGE)
    return ModbusExceptionError(text, reply.code, reason=Reason.BUSY if busy else None)


class ModbusClient:
    """Serialises requests on one link and reconnects on the next request after a failure."""

    def __init__(
        self,
        opener: LinkOpener,
        framing: Framing,
        *,
        timeout_s: float,
        retries: int,
        log: Logger,
    ) -> None:
        self._opener = opener
        self._framing = framing
        self._timeout_s = timeout_s
        self._retries = retries
        self._log = log
        self._link: Link | None = None
        self._lock = asyncio.Lock()
        self._tid = 0
        self._abandoned: deque[int] = deque(maxlen=8)  # tids that timed out on this connection
        self._dirty = False  # bytes may still be in flight from a failed RTU exchange

    @property
    def connected(self) -> bool:
        return self._link is not None

    async def connect(self) -> None:
        if self._link is None:
            self._link = await self._opener()
            self._dirty = False
            self._abandoned.clear()  # a new connection carries no answer to the old one's requests

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def read(
        self, unit_id: int, function: Function, address: int, count: int
    ) -> list[int] | list[bool]:
        """Values of `count` bits or registers from `address` of one table."""
        reply = await self._transact(unit_id, codec.read_request(function, address, count), count)
        if isinstance(reply, codec.ReadBitsReply):
            return list(reply.values)
        if isinstance(reply, codec.ReadRegistersReply):
            return list(reply.values)
        raise FrameError(f"unit {unit_id} answered a read with {type(reply).__name__}")

    async def write_coil(self, unit_id: int, address: int, value: bool) -> None:
        await self._expect_write(unit_id, codec.write_coil_request(address, value))

    async def write_registers(self, unit_id: int, address: int, values: Sequence[int]) -> None:
        if len(values) == 1:
            pdu = codec.write_register_request(address, values[0])
        else:
            pdu = codec.write_registers_request(address, values)
        await self._expect_write(unit_id, pdu)

    async def _expect_write(self, unit_id: int, pdu: bytes) -> None:
        reply = await self._transact(unit_id, pdu, 0)
        if not isinstance(reply, codec.WriteReply):
            raise FrameError(f"unit {unit_id} answered a write with {type(reply).__name__}")

    async def _transact(self, unit_id: int, pdu: bytes, count: int) -> Reply:
        async with self._lock:
            last: DriverError | None = None
            reconnected = False
            attempt = -1
            while attempt < self._retries:
                attempt += 1
                if attempt:
                    self._log.debug(
                        "modbus_retry",
                        unit_id=unit_id,
                        attempt=attempt,
                        reason=last.reason.value if last else None,
                    )
                reused = self._link is not None
                try:
                    await self.connect()
                    reply = await self._once(unit_id, pdu, count)
                except DeviceTimeout as exc:
                    self._dirty = True
                    if self._framing == "tcp":
                        self._abandoned.append(self._tid)  # its answer may still come: skip it then
                    last = exc
                except ProtocolError as exc:
                    self._dirty = True
                    last = exc
                    if self._framing == "tcp":
                        await self.close()  # the stream is out of step; start clean
                except Unreachable as exc:
                    await self.close()
                    if reused and not reconnected:
                        # The old connection died while idle (device restarted): one fresh try,
                        # not counted as a retry.
                        self._log.info("modbus_reconnect", unit_id=unit_id, error=exc.message)
                        reconnected, attempt = True, attempt - 1
                        continue
                    raise
                else:
                    if isinstance(reply, ExceptionReply):
                        raise exception_error(unit_id, reply)
                    return reply
            assert last is not None
            raise last

    async def _once(self, unit_id: int, pdu: bytes, count: int) -> Reply:
        link = self._link
        assert link is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        try:
            if self._framing == "tcp":
                return await self._once_tcp(link, unit_id, pdu, count, deadline)
            return await self._once_rtu(link, unit_id, pdu, count, deadline)
        except LinkTimeout as exc:
            if exc.received:
                raise FrameError(
                    f"unit {unit_id}: incomplete or garbled reply ({exc.received} stray bytes)"
                ) from None
            raise DeviceTimeout(
                f"unit {unit_id} did not answer within {self._timeout_s:g} s"
            ) from None

    async def _once_tcp(
        self, link: Link, unit_id: int, pdu: bytes, count: int, deadline: float
    ) -> Reply:
        # A Modbus TCP peer speaks only when asked, so a frame that came while no request was
        # outstanding answers nothing we will ask: drop it unread. Checking transaction ids after
        # the send cannot do this, since such a frame may carry the very id we are about to use.
        # Both guards are needed: this one for what is already here, the id check below for what
        # comes while we wait. (A frame with exactly the new id that lands after the drop cannot
        # be told from the answer by any master; the real answer then comes unasked, and is
        # dropped or refused like any other.)
        dropped = await link.drop_received()
        if dropped:
            self._log.debug("modbus_unsolicited_dropped", unit_id=unit_id, bytes=dropped)
        self._tid = (self._tid + 1) & 0xFFFF
        await link.send(codec.encode_tcp_frame(self._tid, unit_id, pdu))
        while True:
            header = codec.decode_mbap_header(
                await link.read_exactly(codec.MBAP_HEADER_LEN, deadline)
            )
            body = await link.read_exactly(header.pdu_length, deadline)
            if header.transaction_id != self._tid:
                if header.transaction_id not in self._abandoned:
                    # Not an answer to anything we are still owed: the stream is out of step,
                    # and whatever follows could be taken for the wrong request's answer.
                    raise FrameError(
                        f"unit {unit_id}: reply carries transaction id {header.transaction_id}, "
                        f"expected {self._tid}; reconnecting to get back in step"
                    )
                # A late answer to a request that already timed out: skip it, keep waiting.
                self._abandoned.remove(header.transaction_id)
                self._log.debug("modbus_stale_reply", tid=header.transaction_id, expected=self._tid)
                continue
            if header.unit_id != unit_id:
                raise FrameError(f"reply from unit {header.unit_id}, expected {unit_id}")
            return codec.decode_response(pdu[0], body, count)

    async def _once_rtu(
        self, link: Link, unit_id: int, pdu: bytes, count: int, deadline: float
    ) -> Reply:
        if self._dirty:
            dropped = await link.discard_pending()
            if dropped:
                self._log.debug("modbus_line_flushed", bytes=dropped)
            self._dirty = False
        await link.send(codec.encode_rtu_frame(unit_id, pdu))
        head = await link.read_exactly(3, deadline)
        if head[0] != unit_id:
            raise FrameError(f"reply addressed from unit {head[0]}, expected {unit_id}")
        total = codec.rtu_response_length(head)
        frame = head + await link.read_exactly(total - 3, deadline)
        _unit, body = codec.decode_rtu_frame(frame)
        return codec.decode_response(pdu[0], body, count)
