"""MDC secured mode: the display greets with a banner, then TLS, then a PIN check.

Sequence on TCP 1515 with "Secured Protocol" on: display sends `MDCSTART<<TLS>>`; the client
starts TLS (the display's certificate is self-signed, so it cannot be verified); the client
sends the PIN as ASCII digits; the display answers `MDCAUTH<<PASS>>` or
`MDCAUTH<<FAIL:xxxx>>` (hex code: 0001 wrong PIN, 0002 blocked after too many tries).
"""

from __future__ import annotations

import asyncio
import ssl

from ..sdk import AuthFailed, DeviceTimeout, ProtocolError, Unreachable

BANNER = b"MDCSTART<<TLS>>"
AUTH_PASS = b"MDCAUTH<<PASS>>"
AUTH_FAIL_PREFIX = b"MDCAUTH<<FAIL:"
FAIL_WRONG_PIN = 0x0001
FAIL_BLOCKED = 0x0002


def normalise_pin(raw: str) -> bytes:
    """The PIN as the display expects it: ASCII digits, zero-padded to four."""
    pin = raw.strip()
    if not (pin.isascii() and pin.isdigit()) or not 1 <= len(pin) <= 8:  # not "١٢٣٤" or "²"
        raise AuthFailed("MDC PIN file must hold only the digits 0-9 (the display's 4-digit PIN)")
    return pin.rjust(4, "0").encode("ascii")


def auth_fail_reply(code: int) -> bytes:
    return AUTH_FAIL_PREFIX + f"{code:04X}".encode("ascii") + b">>"


def client_tls_context() -> ssl.SSLContext:
    """TLS for a display: its certificate is self-signed per unit, so it is not verified."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the display's per-unit self-signed cert has no CA
    return ctx


async def _read_exactly(reader: asyncio.StreamReader, n: int, limit_s: float, what: str) -> bytes:
    try:
        return await asyncio.wait_for(reader.readexactly(n), limit_s)
    except TimeoutError:
        raise DeviceTimeout(f"no {what} from display within {limit_s:g}s") from None
    except asyncio.IncompleteReadError as exc:
        raise Unreachable(f"display closed the connection during {what}") from exc
    except OSError as exc:
        raise Unreachable(f"connection failed during {what}: {exc.strerror or exc}") from exc


async def client_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pin: bytes, limit_s: float
) -> None:
    """Run banner -> TLS -> PIN on a fresh connection. Raises AuthFailed on a refused PIN."""
    try:
        banner = await _read_exactly(reader, len(BANNER), limit_s, "secured-mode banner")
    except DeviceTimeout:
        raise DeviceTimeout(
            f"display sent no secured-mode banner within {limit_s:g}s; if Secured Protocol is off "
            "on the display, set `secured: false` and remove `pin_file`"
        ) from None
    if banner != BANNER:
        raise ProtocolError(
            "display did not offer MDC secured mode (no MDCSTART<<TLS>> banner); "
            "set `secured: false` if Secured Protocol is off on the display"
        )
    try:
        await asyncio.wait_for(writer.start_tls(client_tls_context()), limit_s)
    except TimeoutError:
        raise DeviceTimeout(f"TLS handshake with display took over {limit_s:g}s") from None
    except (ssl.SSLError, OSError) as exc:
        raise ProtocolError(f"TLS handshake with display failed: {exc}") from exc
    writer.write(pin)
    answer = await _read_exactly(reader, len(AUTH_PASS), limit_s, "PIN answer")
    if answer == AUTH_PASS:
        return
    if not answer.startswith(AUTH_FAIL_PREFIX):
        raise ProtocolError(f"unexpected secured-mode answer {answer!r}")
    tail = await _read_exactly(reader, 5, limit_s, "PIN answer")
    try:
        code = int((answer[len(AUTH_FAIL_PREFIX) :] + tail)[:4], 16)
    except ValueError:
        raise ProtocolError("unreadable secured-mode failure code") from None
    if code == FAIL_BLOCKED:
        raise AuthFailed(
            "display blocked MDC logins after wrong PINs; reset it from the display menu"
        )
    raise AuthFailed("display refused the MDC PIN (check pin_file against the display's PIN)")
