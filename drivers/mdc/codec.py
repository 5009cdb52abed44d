"""MDC framing: bytes <-> frames, with a stream decoder that resyncs on the 0xAA header.

A frame is `AA cmd id len data... chk`, where `chk` is the sum of every byte after the header,
mod 256. Replies are frames whose command is 0xFF and whose data starts with 'A' (ACK) or 'N'
(NAK) followed by the command being answered. Pure bytes, no I/O; every failure is a
`ProtocolError`, so arbitrary line noise can never raise anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sdk import ProtocolError

HEADER = 0xAA
REPLY_CMD = 0xFF
ACK = 0x41  # 'A'
NAK = 0x4E  # 'N'
BROADCAST_ID = 0xFE
MAX_DATA = 0xFF
#: How many discarded (non-frame) bytes the decoder keeps for diagnostics.
JUNK_KEEP = 64


@dataclass(frozen=True)
class Frame:
    """One MDC frame, request or reply, as it travels on the wire."""

    cmd: int
    display_id: int
    data: bytes = b""


@dataclass(frozen=True)
class Reply:
    """A parsed reply frame. `data` excludes the ACK/NAK byte and the r-cmd byte."""

    display_id: int
    ack: bool
    rcmd: int
    data: bytes = b""

    @property
    def error_code(self) -> int | None:
        """The NAK error code, or None for an ACK."""
        if self.ack:
            return None
        return self.data[0]


class ChecksumError(ProtocolError):
    """A complete frame arrived whose checksum does not match its bytes."""


class MalformedReply(ProtocolError):
    """A well-framed reply whose contents break the ACK/NAK reply layout."""


def checksum(body: bytes) -> int:
    """Sum of the bytes after the header, mod 256."""
    return sum(body) & 0xFF


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ProtocolError(f"{name} {value!r} does not fit in one byte")


def encode(frame: Frame) -> bytes:
    """The wire bytes of a frame."""
    _check_byte("command", frame.cmd)
    _check_byte("display id", frame.display_id)
    if len(frame.data) > MAX_DATA:
        raise ProtocolError(f"MDC data is at most {MAX_DATA} bytes, got {len(frame.data)}")
    body = bytes([frame.cmd, frame.display_id, len(frame.data)]) + frame.data
    return bytes([HEADER]) + body + bytes([checksum(body)])


def encode_request(cmd: int, display_id: int, data: bytes = b"") -> bytes:
    """A request frame: a get when `data` is empty, a set otherwise."""
    return encode(Frame(cmd, display_id, data))


def encode_reply(reply: Reply) -> bytes:
    """A reply frame (used by the emulator)."""
    if not reply.ack and len(reply.data) != 1:
        raise ProtocolError("a NAK carries exactly one error-code byte")
    _check_byte("r-cmd", reply.rcmd)
    head = bytes([ACK if reply.ack else NAK, reply.rcmd])
    return encode(Frame(REPLY_CMD, reply.display_id, head + reply.data))


def parse_reply(frame: Frame) -> Reply:
    """Interpret a decoded frame as an ACK or NAK reply."""
    if frame.cmd != REPLY_CMD:
        raise MalformedReply(f"expected a reply frame (0xFF), got command 0x{frame.cmd:02x}")
    if len(frame.data) < 2:
        raise MalformedReply(f"reply too short: {len(frame.data)} data bytes")
    kind, rcmd, rest = frame.data[0], frame.data[1], frame.data[2:]
    if kind == ACK:
        return Reply(frame.display_id, True, rcmd, rest)
    if kind == NAK:
        if len(rest) != 1:
            raise MalformedReply(f"NAK must carry one error code, got {len(rest)} bytes")
        return Reply(frame.display_id, False, rcmd, rest)
    raise MalformedReply(f"reply is neither ACK nor NAK (0x{kind:02x})")


def decode(data: bytes) -> Frame:
    """Exactly one frame from `data`; anything else is a ProtocolError."""
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    if frame is None:
        raise ProtocolError(f"incomplete MDC frame ({len(data)} bytes)")
    if decoder.discarded or decoder.pending:
        raise ProtocolError("bytes around the MDC frame")
    return frame


class FrameDecoder:
    """Incremental decoder for a byte stream that may carry noise between frames.

    Bytes before a 0xAA header are skipped (and kept in `junk` for diagnostics). A frame with a
    bad checksum raises ChecksumError; its header byte is dropped first, so the next call resyncs
    on the following 0xAA instead of failing forever on the same bytes.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0
        self.junk = bytearray()

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf.extend(data)

    def clear(self) -> None:
        """Forget buffered bytes and diagnostics (before a new request)."""
        self._buf.clear()
        self.discarded = 0
        self.junk.clear()

    def _skip(self, n: int) -> None:
        self.discarded += n
        self.junk.extend(self._buf[:n])
        del self.junk[:-JUNK_KEEP]
        del self._buf[:n]

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None until more bytes arrive."""
        start = self._buf.find(HEADER)
        if start < 0:
            self._skip(len(self._buf))
            return None
        if start:
            self._skip(start)
        if len(self._buf) < 4:
            return None
        length = self._buf[3]
        total = 4 + length + 1
        if len(self._buf) < total:
            return None
        body = bytes(self._buf[1 : total - 1])
        got, want = self._buf[total - 1], checksum(body)
        if got != want:
            self._skip(1)
            raise ChecksumError(f"bad MDC checksum: got 0x{got:02x}, expected 0x{want:02x}")
        del self._buf[:total]
        return Frame(body[0], body[1], body[3:])
