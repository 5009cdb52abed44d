"""Kiosk wire formats: Wake-on-LAN magic packets, health/heartbeat JSON, command body templates.

Pure functions, no I/O. Bad input raises a `ProtocolError` subclass (or `InvalidArgument` for a
bad MAC or a missing template argument), never a bare exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..sdk import InvalidArgument, ProtocolError

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_SYNC = b"\xff" * 6
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class WakePacketError(ProtocolError):
    """Bytes that are not a Wake-on-LAN magic packet."""


class HealthFormatError(ProtocolError):
    """A health or heartbeat body that is not the JSON object we expect."""


def parse_mac(text: str) -> bytes:
    """ "aa:bb:cc:dd:ee:ff", "AA-BB-..." or "aabbccddeeff" -> 6 bytes."""
    if not _MAC.match(text):
        raise InvalidArgument(f"{text!r} is not a MAC address (want aa:bb:cc:dd:ee:ff)")
    return bytes.fromhex(re.sub(r"[:-]", "", text))


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def build_wol(mac: bytes) -> bytes:
    """The 102-byte magic packet: 6 x 0xFF, then the MAC 16 times."""
    if len(mac) != 6:
        raise InvalidArgument(f"a MAC has 6 bytes, not {len(mac)}")
    return _SYNC + mac * 16


def parse_wol(packet: bytes) -> bytes:
    """The MAC a datagram wakes: 6 x 0xFF then one MAC 16 times, anywhere in the payload.

    A NIC scans the whole frame for that pattern, so a packet with bytes before it or after it (a
    SecureOn password, a sender's own header or padding) wakes the machine all the same.
    """
    start = packet.find(_SYNC)
    if start < 0:
        raise WakePacketError("no magic packet: no 6 x 0xFF sync stream in the datagram")
    while start >= 0:
        mac = packet[start + 6 : start + 12]
        if len(mac) == 6 and packet[start + 6 : start + 102] == mac * 16:
            return bytes(mac)
        start = packet.find(_SYNC, start + 1)
    raise WakePacketError("magic packet does not repeat one MAC 16 times after 6 x 0xFF")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _decode_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        # Python's json takes NaN and Infinity, which are not JSON: no store or HQ would take them
        value = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise HealthFormatError(f"{what} is not JSON: {body[:40]!r}") from None
    if not isinstance(value, dict):
        raise HealthFormatError(f"{what} is JSON but not an object: {type(value).__name__}")
    return value


def parse_health(body: bytes, state_key: str | None = None) -> dict[str, Any]:
    """Health body -> state dict. `state_key` ("data.kiosk") picks a nested object out of it."""
    value: Any = _decode_object(body, "health body")
    for part in (state_key or "").split(".") if state_key else []:
        if not isinstance(value, dict) or part not in value:
            raise HealthFormatError(f"health body has no {state_key!r}")
        value = value[part]
    if not isinstance(value, dict):
        raise HealthFormatError(f"health {state_key!r} is not an object")
    return dict(value)


def parse_heartbeat(text: str | bytes, state_key: str | None = None) -> dict[str, Any]:
    """One WebSocket push -> state dict (same shape and key rules as the health body)."""
    return parse_health(text.encode() if isinstance(text, str) else text, state_key)


def render_body(template: Any, args: Mapping[str, Any]) -> Any:
    """Fill "{name}" placeholders in a JSON body template from command args.

    A string that is exactly one placeholder takes the argument's own JSON type (so
    `{"level": "{level}"}` sends a number); placeholders inside longer strings are formatted.
    """
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _arg(args, whole.group(1))
        return _PLACEHOLDER.sub(lambda m: str(_arg(args, m.group(1))), template)
    if isinstance(template, list):
        return [render_body(item, args) for item in template]
    if isinstance(template, dict):
        return {key: render_body(item, args) for key, item in template.items()}
    return template


def _arg(args: Mapping[str, Any], name: str) -> Any:
    if name not in args:
        raise InvalidArgument(f"command body needs argument {name!r}")
    return args[name]
