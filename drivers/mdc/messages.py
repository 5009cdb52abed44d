"""MDC command codes, value tables and the typed payloads of the replies the driver reads.

Codes follow Samsung's "Multiple Display Control Protocol" (v13+) as exposed by recent signage
firmware. Input names are the lowercase words a field engineer types (`hdmi1`, `dp1`,
`magicinfo`); a code the table does not know is reported as `unknown_0xNN`, never an error,
because new firmware keeps adding sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from ..sdk import ProtocolError


class Cmd(IntEnum):
    """Command bytes this driver and its emulator speak."""

    STATUS = 0x00
    SERIAL_NUMBER = 0x0B
    DISPLAY_STATUS = 0x0D
    SOFTWARE_VERSION = 0x0E
    POWER = 0x11
    VOLUME = 0x12
    MUTE = 0x13
    INPUT_SOURCE = 0x14
    MODEL_NAME = 0x8A


POWER_OFF, POWER_ON, POWER_REBOOT = 0x00, 0x01, 0x02
#: Volume and mute read 0xFF on models without audio.
NO_AUDIO = 0xFF

#: name -> input source code. Settable sources.
INPUTS: dict[str, int] = {
    "s_video": 0x04,
    "component": 0x08,
    "av": 0x0C,
    "av2": 0x0D,
    "scart1": 0x0E,
    "pc": 0x14,
    "dvi": 0x18,
    "bnc": 0x1E,
    "magicinfo_legacy": 0x20,
    "hdmi1": 0x21,
    "hdmi2": 0x23,
    "dp1": 0x25,
    "dp2": 0x26,
    "dp3": 0x27,
    "rf_tv": 0x30,
    "hdmi3": 0x31,
    "hdmi4": 0x33,
    "tv": 0x40,
    "plug_in_mode": 0x50,
    "hdbaset": 0x55,
    "ocm": 0x56,
    "magicinfo": 0x60,
    "screen_mirroring": 0x61,
    "internal_usb": 0x62,
    "url_launcher": 0x63,
    "iwb": 0x64,
    "web_browser": 0x65,
    "remote_workspace": 0x66,
}
#: Codes a display reports but refuses as a set value (PC-timing variants of a port).
GET_ONLY_INPUTS: dict[str, int] = {
    "none": 0x00,
    "dvi_video": 0x1F,
    "hdmi1_pc": 0x22,
    "hdmi2_pc": 0x24,
    "hdmi3_pc": 0x32,
    "hdmi4_pc": 0x34,
}
#: Friendly spellings accepted on the command line.
INPUT_ALIASES: dict[str, str] = {
    "dp": "dp1",
    "displayport": "dp1",
    "hdmi": "hdmi1",
    "magic_info": "magicinfo",
    "magicinfo_s": "magicinfo",
    "usb": "internal_usb",
    "browser": "web_browser",
}
_CODE_TO_INPUT = {code: name for name, code in {**INPUTS, **GET_ONLY_INPUTS}.items()}


def input_name(code: int) -> str:
    """Friendly name of an input code; unknown codes stay visible as `unknown_0xNN`."""
    return _CODE_TO_INPUT.get(code, f"unknown_0x{code:02x}")


def input_code(name: str) -> int | None:
    """Settable input code for a name or alias (case-insensitive), or None."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return INPUTS.get(INPUT_ALIASES.get(key, key))


@dataclass(frozen=True)
class Status:
    """The STATUS (0x00) reply: one round trip for the state the agent polls."""

    power: bool
    volume: int | None
    mute: bool | None
    input_code: int
    aspect: int | None = None

    @property
    def input(self) -> str:
        return input_name(self.input_code)

    def as_state(self) -> dict[str, object]:
        """The device state dict published on MQTT."""
        return {
            "power": "on" if self.power else "off",
            "volume": self.volume,
            "mute": None if self.mute is None else ("on" if self.mute else "off"),
            "input": self.input,
        }


def parse_status(data: bytes) -> Status:
    """STATUS payload: power, volume, mute, input, aspect, N-time, F-time.

    Older firmware stops after the input byte, so only the first four are required.
    """
    if len(data) < 4:
        raise ProtocolError(f"STATUS reply too short: {len(data)} bytes, need at least 4")
    power, volume, mute, source = data[0], data[1], data[2], data[3]
    if power not in (POWER_OFF, POWER_ON, POWER_REBOOT):
        raise ProtocolError(f"STATUS power byte 0x{power:02x} is not a power state")
    if volume != NO_AUDIO and volume > 100:
        raise ProtocolError(f"STATUS volume {volume} is out of 0-100")
    if mute not in (0, 1, NO_AUDIO):
        raise ProtocolError(f"STATUS mute byte 0x{mute:02x} is not a mute state")
    return Status(
        power=power != POWER_OFF,
        volume=None if volume == NO_AUDIO else volume,
        mute=None if mute == NO_AUDIO else bool(mute),
        input_code=source,
        aspect=data[4] if len(data) > 4 else None,
    )


def encode_status(status: Status) -> bytes:
    """STATUS payload bytes (the emulator's side), with both legacy timer bytes zero."""
    return bytes(
        [
            POWER_ON if status.power else POWER_OFF,
            NO_AUDIO if status.volume is None else status.volume,
            NO_AUDIO if status.mute is None else int(status.mute),
            status.input_code,
            0x00 if status.aspect is None else status.aspect,
            0x00,
            0x00,
        ]
    )


#: A display health check of DISPLAY_STATUS; `no_sync` is no signal on the current input.
DisplayCheck = Literal["lamp", "temperature", "brightness_sensor", "no_sync", "fan"]

#: DISPLAY_STATUS (0x0D) condition -> (byte index, value meaning "fault").
_FAULT_BYTES: dict[str, tuple[int, int]] = {  # keys: every DisplayCheck
    "lamp": (0, 0x01),
    "temperature": (1, 0x01),
    "brightness_sensor": (2, 0x01),
    "no_sync": (3, 0x01),
    "fan": (5, 0x01),
}


@dataclass(frozen=True)
class DisplayStatus:
    """The DISPLAY_STATUS (0x0D) reply: the display's own health checks."""

    faults: frozenset[str]
    temperature_c: int

    def as_dict(self) -> dict[str, object]:
        return {"faults": sorted(self.faults), "temperature_c": self.temperature_c}


def parse_display_status(data: bytes) -> DisplayStatus:
    """lamp, temperature, brightness sensor, no-sync, temperature (deg C), fan."""
    if len(data) != 6:
        raise ProtocolError(f"DISPLAY_STATUS reply must be 6 bytes, got {len(data)}")
    faults = frozenset(name for name, (i, bad) in _FAULT_BYTES.items() if data[i] == bad)
    return DisplayStatus(faults=faults, temperature_c=data[4])


def encode_display_status(status: DisplayStatus) -> bytes:
    """DISPLAY_STATUS payload bytes: sensor present, fan present, faults set as flagged."""
    out = bytearray([0x00, 0x00, 0x02, 0x00, status.temperature_c & 0xFF, 0x00])
    for name in status.faults:
        index, bad = _FAULT_BYTES[name]
        out[index] = bad
    return bytes(out)


def parse_text(data: bytes) -> str:
    """String replies (serial number, software version, model name): NUL-padded ASCII/UTF-8."""
    return data.decode("utf-8", errors="replace").rstrip("\x00").strip()
