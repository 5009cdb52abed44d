"""PJLink parameter values: power, error status, lamps, mute, inputs, search and notifications.

The other half of the codec: `codec.py` splits lines into command and parameter, this module turns a
parameter into a typed value (and back, for the emulator). Decoders raise only `ProtocolError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from ..sdk.errors import ProtocolError
from .codec import parse_response

PowerState = Literal["off", "on", "cooling", "warming"]

POWER: dict[str, PowerState] = {"0": "off", "1": "on", "2": "cooling", "3": "warming"}
POWER_CODES: dict[PowerState, str] = {v: k for k, v in POWER.items()}

#: ERST digit order (spec §4.7): fan, lamp, temperature, cover open, filter, other.
ErrorCategory = Literal["fan", "lamp", "temperature", "cover", "filter", "other"]
ErrorLevel = Literal["ok", "warning", "error"]
ERROR_CATEGORIES: tuple[ErrorCategory, ...] = get_args(ErrorCategory)
ERROR_LEVELS: dict[str, ErrorLevel] = {"0": "ok", "1": "warning", "2": "error"}
ERROR_LEVEL_CODES: dict[str, str] = {v: k for k, v in ERROR_LEVELS.items()}

#: Input type digit (spec §4.3); 6 (internal) is class 2 only.
INPUT_TYPES = {
    "1": "rgb",
    "2": "video",
    "3": "digital",
    "4": "storage",
    "5": "network",
    "6": "internal",
}
INPUT_CODE_RE = re.compile(r"[1-6][1-9A-Z]")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
_LAMP_HOURS_RE = re.compile(r"[0-9]{1,7}")

NOTIFICATION_COMMANDS = ("LKUP", "POWR", "ERST", "INPT", "AVMT")


@dataclass(frozen=True)
class Lamp:
    hours: int
    on: bool


@dataclass(frozen=True)
class Mute:
    video: bool
    audio: bool


@dataclass(frozen=True)
class Notification:
    """A class 2 status datagram, already decoded. `value` depends on `command`."""

    command: str
    value: str | dict[str, str] | Mute


def decode_power(param: str) -> PowerState:
    try:
        return POWER[param]
    except KeyError:
        raise ProtocolError(f"unknown power state {param[:16]!r}") from None


def decode_errors(param: str) -> dict[str, str]:
    """Six digits, one per category, each 0 ok / 1 warning / 2 error."""
    if len(param) != 6 or any(c not in ERROR_LEVELS for c in param):
        raise ProtocolError(f"error status must be six digits 0-2, got {param[:16]!r}")
    return {cat: ERROR_LEVELS[c] for cat, c in zip(ERROR_CATEGORIES, param, strict=True)}


def encode_errors(errors: dict[str, str]) -> str:
    """The emulator's side of ERST: category -> level back to six digits."""
    return "".join(ERROR_LEVEL_CODES[errors.get(cat, "ok")] for cat in ERROR_CATEGORIES)


def decode_lamps(param: str) -> list[Lamp]:
    """`hours state [hours state ...]`, one pair per lamp, up to eight lamps."""
    words = param.split(" ")
    if not words or len(words) % 2 or len(words) > 16:
        raise ProtocolError(f"lamp status must be hour/state pairs, got {param[:40]!r}")
    lamps: list[Lamp] = []
    for hours, state in zip(words[::2], words[1::2], strict=True):
        if not _LAMP_HOURS_RE.fullmatch(hours) or state not in ("0", "1"):
            raise ProtocolError(f"bad lamp entry {hours[:10]!r} {state[:4]!r}")
        lamps.append(Lamp(hours=int(hours), on=state == "1"))
    return lamps


def encode_lamps(lamps: list[Lamp]) -> str:
    return " ".join(f"{lamp.hours} {int(lamp.on)}" for lamp in lamps)


def decode_mute(param: str) -> Mute:
    """AVMT answers: 11 video muted, 21 audio muted, 31 both, 30 (or 10/20) neither."""
    table = {
        "11": Mute(video=True, audio=False),
        "21": Mute(video=False, audio=True),
        "31": Mute(video=True, audio=True),
        "30": Mute(video=False, audio=False),
        "10": Mute(video=False, audio=False),
        "20": Mute(video=False, audio=False),
    }
    try:
        return table[param]
    except KeyError:
        raise ProtocolError(f"unknown mute state {param[:16]!r}") from None


def encode_mute(mute: Mute) -> str:
    if mute.video and mute.audio:
        return "31"
    if mute.video:
        return "11"
    if mute.audio:
        return "21"
    return "30"


def decode_input(param: str) -> str:
    """A two-character input code such as `31` (DIGITAL 1) or `3A` (class 2)."""
    if not INPUT_CODE_RE.fullmatch(param):
        raise ProtocolError(f"not a PJLink input code: {param[:16]!r}")
    return param


def decode_input_list(param: str) -> list[str]:
    """INST answer: input codes separated by spaces (may be empty)."""
    return [decode_input(word) for word in param.split(" ") if word]


def decode_class(param: str) -> int:
    """CLSS answer. Class 3+ projectors speak class 2 as well, so we cap at 2."""
    if not param.isascii() or not param.isdigit() or len(param) != 1 or param == "0":
        raise ProtocolError(f"not a PJLink class: {param[:16]!r}")
    return min(int(param), 2)


def decode_mac(param: str) -> str:
    if not MAC_RE.fullmatch(param):
        raise ProtocolError(f"not a MAC address: {param[:24]!r}")
    return param.lower()


def parse_ackn(datagram: bytes) -> str:
    """The answer to `%2SRCH`: `%2ACKN=<mac>`. Returns the MAC, lower case."""
    response = parse_response(datagram)
    if response.command != "ACKN":
        raise ProtocolError(f"expected ACKN, got {response.command}")
    return decode_mac(response.param)


def parse_notification(datagram: bytes) -> Notification:
    """A status notification a class 2 projector sends to UDP 4352 of its controller."""
    response = parse_response(datagram)
    command, param = response.command, response.param
    if command == "LKUP":
        return Notification(command, decode_mac(param))
    if command == "POWR":
        return Notification(command, decode_power(param))
    if command == "ERST":
        return Notification(command, decode_errors(param))
    if command == "INPT":
        return Notification(command, decode_input(param))
    if command == "AVMT":
        return Notification(command, decode_mute(param))
    raise ProtocolError(f"not a PJLink status notification: {command}")
