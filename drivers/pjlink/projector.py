"""The emulated projector's behaviour: what it answers to each PJLink command, no sockets.

Modelled on real class 1/2 projectors: power on/off go through warm-up and cool-down, during
which most commands answer ERR3; input and mute need the lamp on; a lamp failure makes power-on
answer ERR4. `emulator.py` puts this behind TCP and UDP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .values import (
    ERROR_CATEGORIES,
    INPUT_CODE_RE,
    Lamp,
    Mute,
    PowerState,
    encode_errors,
    encode_lamps,
    encode_mute,
)

_CLASS2_ONLY = frozenset(
    {"SNUM", "SVER", "INNM", "FREZ", "SVOL", "MVOL", "IRES", "RRES", "FILT", "RLMP", "RFIL"}
)
_MUTE_SET = {"10", "11", "20", "21", "30", "31"}


def _default_labels() -> dict[str, str]:
    return {
        "11": "Computer",
        "21": "Video",
        "31": "HDMI 1",
        "32": "HDMI 2",
        "33": "HDBaseT",
        "51": "LAN",
    }


@dataclass
class ProjectorModel:
    """Settable projector state. Tests and the demo change these fields directly."""

    pjclass: int = 2
    power: PowerState = "off"
    warmup_s: float = 0.0
    cooldown_s: float = 0.0
    inputs: list[str] = field(default_factory=lambda: ["11", "21", "31", "32", "33", "51"])
    input: str = "31"
    input_labels: dict[str, str] = field(default_factory=_default_labels)
    mute: Mute = field(default_factory=lambda: Mute(video=False, audio=False))
    lamps: list[Lamp] = field(default_factory=lambda: [Lamp(hours=1200, on=False)])
    errors: dict[str, str] = field(default_factory=lambda: dict.fromkeys(ERROR_CATEGORIES, "ok"))
    name: str = "lobby-projector"
    manufacturer: str = "EdgeSim"
    model: str = "PJ-EMU 2"
    info: str = "edge-agent PJLink emulator"
    serial: str = "EMU0001"
    firmware: str = "1.0.0"
    mac: str = "02:00:00:00:43:52"
    freeze: bool = False
    speaker_volume: int = 10
    mic_volume: int = 10
    #: IRES: the input signal as `<h>x<v>`, "-" for no signal, "*" for one it cannot measure.
    signal: str = "1920x1080"
    recommended_resolution: str = "1920x1200"
    #: FILT: filter hours; None for a model without a filter (it answers ERR1).
    filter_hours: int | None = 350
    lamp_models: list[str] = field(default_factory=lambda: ["EMU-LMP1"])
    filter_models: list[str] = field(default_factory=lambda: ["EMU-FLT1"])
    clock: Callable[[], float] = time.monotonic
    #: Called with (command, param) whenever a status worth notifying changes.
    on_change: Callable[[str, str], None] | None = None
    _settles_at: float | None = field(default=None, init=False, repr=False)

    # --- state changes ---------------------------------------------------------------------

    def settle(self) -> None:
        """Finish a warm-up or cool-down whose time is up."""
        if self._settles_at is None or self.clock() < self._settles_at:
            return
        self._settles_at = None
        self._set_power("on" if self.power == "warming" else "off")

    def _set_power(self, power: PowerState) -> None:
        self.power = power
        on = power in ("on", "warming")
        self.lamps = [Lamp(hours=lamp.hours, on=on) for lamp in self.lamps]
        self._changed("POWR", {"off": "0", "on": "1", "cooling": "2", "warming": "3"}[power])

    def set_errors(self, **levels: str) -> None:
        """E.g. `set_errors(lamp="error")`; unspecified categories keep their level."""
        self.errors = {**self.errors, **levels}
        self._changed("ERST", encode_errors(self.errors))

    def _changed(self, command: str, param: str) -> None:
        if self.on_change is not None:
            self.on_change(command, param)

    # --- the protocol ----------------------------------------------------------------------

    def answer(self, pjclass: int, command: str, param: str) -> str:
        """The response parameter (`OK`, a value or `ERRn`) to `%<pjclass><command> <param>`."""
        self.settle()
        if pjclass > self.pjclass or (command in _CLASS2_ONLY and pjclass < 2):
            return "ERR1"
        handler = getattr(self, f"_cmd_{command.lower()}", None)
        if handler is None:
            return "ERR1"
        result: str = handler(pjclass, param)
        return result

    def _is_on(self) -> bool:
        return self.power == "on"

    def _cmd_powr(self, _pjclass: int, param: str) -> str:
        if param == "?":
            return {"off": "0", "on": "1", "cooling": "2", "warming": "3"}[self.power]
        if param not in ("0", "1"):
            return "ERR2"
        if self.power in ("warming", "cooling"):
            return "ERR3"
        if param == "1" and self.power == "off":
            if self.errors.get("lamp") == "error":
                return "ERR4"
            self._start_transition("warming", self.warmup_s)
        elif param == "0" and self.power == "on":
            self._start_transition("cooling", self.cooldown_s)
        return "OK"

    def _start_transition(self, through: PowerState, seconds: float) -> None:
        if seconds <= 0:
            self._set_power("on" if through == "warming" else "off")
            return
        self._settles_at = self.clock() + seconds
        self._set_power(through)

    def _cmd_inpt(self, pjclass: int, param: str) -> str:
        if param == "?":
            return self.input if self._is_on() else "ERR3"
        if not INPUT_CODE_RE.fullmatch(param) or param not in self.inputs:
            return "ERR2"
        if pjclass == 1 and (param[0] == "6" or not param[1].isdigit()):
            return "ERR2"
        if not self._is_on():
            return "ERR3"
        self.input = param
        self._changed("INPT", param)
        return "OK"

    def _cmd_avmt(self, _pjclass: int, param: str) -> str:
        if param != "?" and param not in _MUTE_SET:
            return "ERR2"
        if not self._is_on():
            return "ERR3"
        if param == "?":
            return encode_mute(self.mute)
        on = param[1] == "1"
        video = on if param[0] in "13" else self.mute.video
        audio = on if param[0] in "23" else self.mute.audio
        self.mute = Mute(video=video, audio=audio)
        self._changed("AVMT", encode_mute(self.mute))
        return "OK"

    def _cmd_erst(self, _pjclass: int, param: str) -> str:
        return encode_errors(self.errors) if param == "?" else "ERR2"

    def _cmd_lamp(self, _pjclass: int, param: str) -> str:
        if param != "?":
            return "ERR2"
        return encode_lamps(self.lamps) if self.lamps else "ERR1"

    def _cmd_inst(self, pjclass: int, param: str) -> str:
        if param != "?":
            return "ERR2"
        listed = [c for c in self.inputs if pjclass >= 2 or (c[0] != "6" and c[1].isdigit())]
        return " ".join(listed)

    def _text(self, value: str, param: str) -> str:
        return value if param == "?" else "ERR2"

    def _cmd_name(self, _pjclass: int, param: str) -> str:
        return self._text(self.name, param)

    def _cmd_inf1(self, _pjclass: int, param: str) -> str:
        return self._text(self.manufacturer, param)

    def _cmd_inf2(self, _pjclass: int, param: str) -> str:
        return self._text(self.model, param)

    def _cmd_info(self, _pjclass: int, param: str) -> str:
        return self._text(self.info, param)

    def _cmd_clss(self, _pjclass: int, param: str) -> str:
        return self._text(str(self.pjclass), param)

    def _cmd_snum(self, _pjclass: int, param: str) -> str:
        return self._text(self.serial, param)

    def _cmd_sver(self, _pjclass: int, param: str) -> str:
        return self._text(self.firmware, param)

    def _cmd_innm(self, _pjclass: int, param: str) -> str:
        code = param[1:]
        if not param.startswith("?") or code not in self.inputs:
            return "ERR2"
        return self.input_labels.get(code, code)

    def _cmd_frez(self, _pjclass: int, param: str) -> str:
        if param not in ("?", "0", "1"):
            return "ERR2"
        if not self._is_on():
            return "ERR3"
        if param == "?":
            return "1" if self.freeze else "0"
        self.freeze = param == "1"
        return "OK"

    def _step(self, current: int, param: str) -> int | None:
        if param not in ("0", "1"):
            return None
        # The spec: a step past the end still answers OK; the level just stays put.
        return min(20, current + 1) if param == "1" else max(0, current - 1)

    def _cmd_svol(self, _pjclass: int, param: str) -> str:
        level = self._step(self.speaker_volume, param)
        if level is None:
            return "ERR2"
        self.speaker_volume = level
        return "OK"

    def _cmd_mvol(self, _pjclass: int, param: str) -> str:
        level = self._step(self.mic_volume, param)
        if level is None:
            return "ERR2"
        self.mic_volume = level
        return "OK"

    # Class 2 status queries (spec §4.18-4.22): real class 2 projectors answer all five.

    def _cmd_ires(self, _pjclass: int, param: str) -> str:
        if param != "?":
            return "ERR2"
        return self.signal if self._is_on() else "ERR3"

    def _cmd_rres(self, _pjclass: int, param: str) -> str:
        return self._text(self.recommended_resolution, param)

    def _cmd_filt(self, _pjclass: int, param: str) -> str:
        if self.filter_hours is None:
            return "ERR1"
        return self._text(str(self.filter_hours), param)

    def _cmd_rlmp(self, _pjclass: int, param: str) -> str:
        return self._text(" ".join(self.lamp_models), param)

    def _cmd_rfil(self, _pjclass: int, param: str) -> str:
        return self._text(" ".join(self.filter_models), param)
