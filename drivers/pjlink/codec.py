"""PJLink framing: greetings, commands, responses and UDP datagrams as bytes <-> typed values.

Pure functions, no I/O. Every parser raises `ProtocolError` (and nothing else) on bytes that are
not PJLink, so a projector that sends junk marks the device `protocol_error` instead of crashing
the driver. Frames follow the JBMIA PJLink spec (class 1 and class 2):

    greeting   PJLINK 0<CR>  |  PJLINK 1 <nonce><CR>  |  PJLINK ERRA<CR> (bad digest)
    command    [md5 digest]%<class><CMD4> <param><CR>
    response   %<class><CMD4>=<param><CR>        (param may be ERR1..ERR4)
    search     %2SRCH<CR>  ->  %2ACKN=<mac><CR>  (UDP 4352)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..sdk.errors import (
    DeviceReportedError,
    DriverError,
    InvalidArgument,
    ProtocolError,
    Unsupported,
)
from ..sdk.types import Reason

TERMINATOR = b"\r"
#: Longest line we accept; the spec caps a frame at 136 bytes, class 2 names may be UTF-8.
MAX_LINE = 512
DEFAULT_PORT = 4352
AUTH_ERROR_LINE = "PJLINK ERRA"
SEARCH_REQUEST = b"%2SRCH\r"

_COMMAND_RE = re.compile(r"[A-Z0-9]{4}")
_RESPONSE_RE = re.compile(r"%([1-9])([A-Za-z0-9]{4})=(.*)", re.DOTALL)
_NONCE_RE = re.compile(r"[0-9A-Za-z]{1,32}")
_DIGEST_RE = re.compile(r"[0-9a-f]{32}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

ERROR_CODES = ("ERR1", "ERR2", "ERR3", "ERR4")


@dataclass(frozen=True)
class Greeting:
    """What the projector says on connect: whether it wants a digest, and the nonce to hash."""

    auth: bool
    nonce: str | None = None


@dataclass(frozen=True)
class Response:
    """One `%<class><CMD>=<param>` line. `error` is ERR1..ERR4 when the projector said no."""

    pjclass: int
    command: str
    param: str

    @property
    def error(self) -> str | None:
        upper = self.param.upper()
        return upper if upper in ERROR_CODES else None


def _text(line: bytes) -> str:
    """Decode one line without its terminator; PJLink is ASCII, class 2 names may be UTF-8."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"line of {len(line)} bytes is longer than PJLink allows")
    body = line.rstrip(b"\r\n").lstrip(b"\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"not PJLink: undecodable bytes {body[:32]!r}") from None
    if _CONTROL_RE.search(text):
        raise ProtocolError(f"not PJLink: control characters in {body[:32]!r}")
    return text


def parse_greeting(line: bytes) -> Greeting:
    """Parse the banner a projector sends right after the TCP connect."""
    text = _text(line)
    if text.upper() == "PJLINK 0":
        return Greeting(auth=False)
    head, _, nonce = text.partition(" 1 ")
    if head.upper() == "PJLINK" and _NONCE_RE.fullmatch(nonce):
        return Greeting(auth=True, nonce=nonce)
    if text.upper() == AUTH_ERROR_LINE:
        raise ProtocolError("projector sent PJLINK ERRA before any command")
    raise ProtocolError(f"not a PJLink greeting: {text[:40]!r}")


def is_auth_error(line: bytes) -> bool:
    """True for `PJLINK ERRA`, the projector's answer to a wrong or missing digest."""
    return line.rstrip(b"\r\n").lstrip(b"\n").upper() == AUTH_ERROR_LINE.encode()


def auth_digest(nonce: str, password: str) -> str:
    """The 32-hex MD5 of nonce + password that precedes the first command (spec §5)."""
    return hashlib.md5((nonce + password).encode("utf-8"), usedforsecurity=False).hexdigest()


def encode_command(command: str, param: str, pjclass: int = 1, digest: str | None = None) -> bytes:
    """Frame one command. Validation here protects the wire from our own bad inputs."""
    if not _COMMAND_RE.fullmatch(command):
        raise ProtocolError(f"not a PJLink command name: {command!r}")
    if pjclass not in (1, 2):
        raise ProtocolError(f"PJLink class must be 1 or 2, not {pjclass!r}")
    if len(param) > 128 or _CONTROL_RE.search(param):
        raise ProtocolError(f"parameter not sendable over PJLink: {param[:40]!r}")
    if digest is not None and not _DIGEST_RE.fullmatch(digest):
        raise ProtocolError("auth digest must be 32 lowercase hex digits")
    return f"{digest or ''}%{pjclass}{command} {param}\r".encode()


def parse_response(line: bytes) -> Response:
    """Parse one `%<class><CMD>=<param>` line (also used for notifications and ACKN)."""
    text = _text(line)
    match = _RESPONSE_RE.fullmatch(text)
    if match is None:
        raise ProtocolError(f"not a PJLink response: {text[:40]!r}")
    pjclass, command, param = match.groups()
    return Response(pjclass=int(pjclass), command=command.upper(), param=param)


def error_for(response: Response) -> DriverError | None:
    """Map ERR1..ERR4 to the typed error a user sees; None for a normal answer."""
    what = f"{response.command} (class {response.pjclass})"
    match response.error:
        case "ERR1":
            return Unsupported(f"projector does not support {what}: ERR1 undefined command")
        case "ERR2":
            return InvalidArgument(
                f"projector rejected the value for {what}: ERR2 out of parameter"
            )
        case "ERR3":
            return DeviceReportedError(
                f"projector cannot do {what} right now (warming up, cooling down or off): ERR3",
                reason=Reason.BUSY,
            )
        case "ERR4":
            return DeviceReportedError(
                f"projector reports a failure for {what}: ERR4 (check lamp, cover, fan)",
                reason=Reason.DEVICE_ERROR,
            )
    return None


def expect_ok(response: Response) -> None:
    """Set commands answer `OK`; anything else is a protocol slip."""
    if response.param.upper() != "OK":
        raise ProtocolError(f"expected OK to {response.command}, got {response.param[:40]!r}")
