"""The emulated display: settable state and the answer it gives to each request frame.

Pure logic, no I/O, so the emulator's transports (TCP, TLS, pty) share one behaviour and unit
tests can check it without sockets. NAK codes are the emulator's own choice (the Samsung spec
only says "error code"): 0x01 command not supported, 0x02 value out of range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .codec import BROADCAST_ID, Frame, Reply
from .messages import (
    GET_ONLY_INPUTS,
    INPUTS,
    POWER_OFF,
    POWER_ON,
    POWER_REBOOT,
    Cmd,
    DisplayStatus,
    Status,
    encode_display_status,
    encode_status,
)

NAK_UNSUPPORTED = 0x01
NAK_BAD_VALUE = 0x02


@dataclass
class DisplayState:
    """What the pretend display is doing. Tests and trainers change it at run time."""

    power: bool = True
    volume: int | None = 25
    mute: bool | None = False
    input: str = "hdmi1"
    aspect: int = 0x10
    serial_number: str = "0DSR3CPN600123A"
    software_version: str = "S-KTU4WWC-1050.2"
    model_name: str = "QM55B"
    temperature_c: int = 41
    faults: set[str] = field(default_factory=set)
    inputs: list[str] = field(default_factory=lambda: ["hdmi1", "hdmi2", "dp1", "magicinfo"])
    #: Commands this model NAKs as unsupported (e.g. {Cmd.MODEL_NAME} for old firmware).
    unsupported: set[int] = field(default_factory=set)

    def status(self) -> Status:
        code = INPUTS.get(self.input, GET_ONLY_INPUTS.get(self.input, 0x00))
        return Status(self.power, self.volume, self.mute, code, self.aspect)


class EmulatedDisplay:
    """Turns one request frame into the reply the display would send (or None for silence)."""

    def __init__(self, display_id: int, state: DisplayState | None = None) -> None:
        self.display_id = display_id
        self.state = state or DisplayState()
        #: Request frames handled, newest last (tests assert on what the driver really sent).
        self.seen: list[Frame] = []

    def addressed(self, frame: Frame) -> bool:
        return frame.display_id in (self.display_id, BROADCAST_ID)

    def handle(self, frame: Frame) -> Reply | None:
        """Apply the request; reply unless it was broadcast (or addressed to another display)."""
        if not self.addressed(frame):
            return None
        self.seen.append(frame)
        del self.seen[:-100]
        reply = self._dispatch(frame)
        return None if frame.display_id == BROADCAST_ID else reply

    def nak(self, cmd: int, code: int) -> Reply:
        return Reply(self.display_id, False, cmd, bytes([code]))

    def _ack(self, cmd: int, data: bytes = b"") -> Reply:
        return Reply(self.display_id, True, cmd, data)

    def _dispatch(self, frame: Frame) -> Reply:
        cmd, data, s = frame.cmd, frame.data, self.state
        if cmd in s.unsupported:
            return self.nak(cmd, NAK_UNSUPPORTED)
        if cmd == Cmd.STATUS and not data:
            return self._ack(cmd, encode_status(s.status()))
        if cmd == Cmd.DISPLAY_STATUS and not data:
            return self._ack(
                cmd, encode_display_status(DisplayStatus(frozenset(s.faults), s.temperature_c))
            )
        if cmd in (Cmd.SERIAL_NUMBER, Cmd.SOFTWARE_VERSION, Cmd.MODEL_NAME) and not data:
            text = {
                Cmd.SERIAL_NUMBER: s.serial_number,
                Cmd.SOFTWARE_VERSION: s.software_version,
                Cmd.MODEL_NAME: s.model_name,
            }[Cmd(cmd)]
            return self._ack(cmd, text.encode("utf-8"))
        if cmd == Cmd.POWER:
            return self._power(data)
        if cmd in (Cmd.VOLUME, Cmd.MUTE) and s.volume is None:
            return self.nak(cmd, NAK_UNSUPPORTED)
        if cmd == Cmd.VOLUME:
            return self._volume(data)
        if cmd == Cmd.MUTE:
            return self._mute(data)
        if cmd == Cmd.INPUT_SOURCE:
            return self._input(data)
        return self.nak(cmd, NAK_UNSUPPORTED)

    def _power(self, data: bytes) -> Reply:
        s = self.state
        if data:
            if len(data) != 1 or data[0] not in (POWER_OFF, POWER_ON, POWER_REBOOT):
                return self.nak(Cmd.POWER, NAK_BAD_VALUE)
            s.power = data[0] != POWER_OFF
        return self._ack(Cmd.POWER, bytes([POWER_ON if s.power else POWER_OFF]))

    def _volume(self, data: bytes) -> Reply:
        s = self.state
        if data:
            if len(data) != 1 or data[0] > 100:
                return self.nak(Cmd.VOLUME, NAK_BAD_VALUE)
            s.volume = data[0]
        return self._ack(Cmd.VOLUME, bytes([s.volume or 0]))

    def _mute(self, data: bytes) -> Reply:
        s = self.state
        if data:
            if len(data) != 1 or data[0] > 1:
                return self.nak(Cmd.MUTE, NAK_BAD_VALUE)
            s.mute = bool(data[0])
        return self._ack(Cmd.MUTE, bytes([int(bool(s.mute))]))

    def _input(self, data: bytes) -> Reply:
        s = self.state
        if data:
            names = {INPUTS[name]: name for name in s.inputs if name in INPUTS}
            if len(data) != 1 or data[0] not in names:
                return self.nak(Cmd.INPUT_SOURCE, NAK_BAD_VALUE)
            s.input = names[data[0]]
        return self._ack(Cmd.INPUT_SOURCE, bytes([s.status().input_code]))
