"""The PJLink driver: projectors and projection walls over TCP 4352 (class 1 and class 2).

Thin glue between the supervisor's contract and `PJLinkClient`: it picks which commands to send,
folds the answers (and optional class 2 UDP notifications) into one state dict, turns lamp hours
into readings and error-status changes into events.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..sdk import (
    Capability,
    Command,
    DeviceConfig,
    DeviceReportedError,
    DriverContext,
    InvalidArgument,
    Unreachable,
    Unsupported,
)
from . import inputs
from .client import PJLinkClient
from .codec import expect_ok
from .config import PJLinkConfig
from .events import ProjectorFault
from .udp import NotificationListener
from .values import (
    Mute,
    Notification,
    decode_class,
    decode_errors,
    decode_input,
    decode_input_list,
    decode_lamps,
    decode_mute,
    decode_power,
)


class StepArgs(BaseModel):
    """PJLink volume has no level, only one-step nudges up or down (SVOL/MVOL, class 2)."""

    model_config = ConfigDict(extra="forbid")
    direction: Literal["up", "down"]
    steps: int = Field(default=1, ge=1, le=50)


class PJLinkDriver:
    """One PJLink projector. See docs/field-guide/pjlink.md for the site view."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.POWER, Capability.INPUT, Capability.MUTE, Capability.FREEZE}
    )
    config_model: ClassVar[type[DeviceConfig]] = PJLinkConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {
        "speaker_volume": StepArgs,
        "mic_volume": StepArgs,
    }
    emulator: ClassVar[str | None] = "drivers.pjlink.emulator:from_config"

    def __init__(self, config: PJLinkConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._lock = asyncio.Lock()
        self._client: PJLinkClient | None = None
        self._listener: NotificationListener | None = None
        self._pjclass: int | None = None
        self._state: dict[str, Any] = {}

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self._config
        password = self._ctx.read_secret(cfg.password_file) if cfg.password_file else None
        if self._client is not None:
            await self._client.close()
        self._client = PJLinkClient(
            cfg.host,
            cfg.port,
            password=password,
            timeout_s=cfg.timeout_s,
            retries=cfg.retries,
            log=self._ctx.log,
        )
        async with self._lock:
            # Re-ask CLSS on every start: the first command of a session also proves the password.
            self._pjclass = None
            await self._detect_class()
        if cfg.notify_port is not None and self._listener is None:
            allowed = await self._addresses(cfg.host)
            listener = NotificationListener(
                cfg.notify_bind, cfg.notify_port, allowed, self._on_notification, self._ctx.log
            )
            await listener.start()
            self._listener = listener
        self._ctx.log.info(
            "pjlink_started", host=cfg.host, port=cfg.port, pjlink_class=self._pjclass
        )

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._client is not None:
            await self._client.close()

    @property
    def notify_port(self) -> int | None:
        """The UDP port notifications are received on (None when off)."""
        return self._listener.port if self._listener else None

    # --- the contract ----------------------------------------------------------------------

    async def poll(self) -> Mapping[str, Any]:
        async with self._lock:
            return await self._read_state(readings=True)

    async def execute(self, command: Command) -> Mapping[str, Any]:
        args = command.args
        async with self._lock:
            pjclass = await self._detect_class()
            if command.action == "power":
                await self._set("POWR", "1" if args["state"] == "on" else "0")
            elif command.action == "input":
                await self._select_input(str(args["source"]), pjclass)
            elif command.action == "mute":
                await self._set("AVMT", "31" if args["state"] == "on" else "30")
            elif command.action == "freeze":
                self._need_class2("freeze", pjclass)
                await self._set("FREZ", "1" if args["state"] == "on" else "0", pjclass=2)
            elif command.action in ("speaker_volume", "mic_volume"):
                self._need_class2(command.action, pjclass)
                name = "SVOL" if command.action == "speaker_volume" else "MVOL"
                for _ in range(int(args.get("steps", 1))):
                    await self._set(name, "1" if args["direction"] == "up" else "0", pjclass=2)
            elif command.action != "refresh":
                raise Unsupported(f"PJLink driver has no action {command.action!r}")
            self._ctx.log.info("pjlink_command_done", action=command.action)
            return await self._read_state()

    async def probe(self) -> Mapping[str, Any]:
        async with self._lock:
            pjclass = await self._detect_class()
            info: dict[str, Any] = {"class": "projector", "pjlink_class": pjclass}
            for key, cmd in (
                ("name", "NAME"),
                ("manufacturer", "INF1"),
                ("model", "INF2"),
                ("info", "INFO"),
            ):
                info[key] = await self._optional(cmd)
            if pjclass >= 2:
                info["serial"] = await self._optional("SNUM", pjclass=2)
                info["firmware"] = await self._optional("SVER", pjclass=2)
            codes = await self._optional("INST", pjclass=pjclass)
            info["inputs"] = [
                await self._describe_input(code, pjclass) for code in decode_input_list(codes or "")
            ]
            info["auth_required"] = self._client_or_raise().auth_required
            return info

    # --- helpers ---------------------------------------------------------------------------

    def _client_or_raise(self) -> PJLinkClient:
        if self._client is None:
            raise Unreachable("PJLink driver used before start()")
        return self._client

    async def _detect_class(self) -> int:
        """Ask CLSS once per driver; the answer also proves the password on a fresh session."""
        if self._pjclass is None:
            answer = await self._client_or_raise().request("CLSS")
            detected = decode_class(answer.param)
            forced = self._config.pjlink_class
            self._pjclass = detected if forced == "auto" else int(forced)
        return self._pjclass

    def _need_class2(self, action: str, pjclass: int) -> None:
        if pjclass < 2:
            raise Unsupported(f"{action} needs a PJLink class 2 projector; this one speaks class 1")

    async def _set(self, command: str, param: str, pjclass: int = 1) -> None:
        expect_ok(await self._client_or_raise().request(command, param, pjclass))

    async def _optional(self, command: str, param: str = "?", pjclass: int = 1) -> str | None:
        """A query some models refuse (no lamp, no input while off): None, not offline."""
        try:
            return (await self._client_or_raise().request(command, param, pjclass)).param
        except (Unsupported, InvalidArgument, DeviceReportedError) as exc:
            self._ctx.log.debug("pjlink_query_refused", command=command, reason=exc.reason.value)
            return None

    async def _select_input(self, source: str, pjclass: int) -> None:
        code = inputs.resolve(source, self._config.input_names, pjclass)
        try:
            await self._set("INPT", code, pjclass=pjclass)
        except InvalidArgument:
            raise InvalidArgument(
                f"projector has no input {source!r} (PJLink code {code}): ERR2"
            ) from None

    async def _describe_input(self, code: str, pjclass: int) -> dict[str, Any]:
        label = await self._optional("INNM", f"?{code}", pjclass=2) if pjclass >= 2 else None
        return {
            "code": code,
            "name": inputs.name_for(code, self._config.input_names),
            "label": label,
        }

    async def _read_state(self, *, readings: bool = False) -> dict[str, Any]:
        client = self._client_or_raise()
        pjclass = await self._detect_class()
        state: dict[str, Any] = {"pjlink_class": pjclass}
        state["power"] = decode_power((await client.request("POWR")).param)
        errors = decode_errors((await client.request("ERST")).param)
        state["errors"] = errors
        self._note_errors(errors)
        lamps_raw = await self._optional("LAMP")
        lamps = decode_lamps(lamps_raw) if lamps_raw is not None else []
        state["lamps"] = [{"hours": lamp.hours, "on": lamp.on} for lamp in lamps]
        state["lamp_hours"] = lamps[0].hours if lamps else None
        for n, lamp in enumerate(lamps if readings else [], start=1):
            self._ctx.emit_reading("lamp_hours" if n == 1 else f"lamp{n}_hours", lamp.hours, "h")
        code_raw = await self._optional("INPT", pjclass=pjclass)
        self._fold_input(state, decode_input(code_raw) if code_raw is not None else None)
        mute_raw = await self._optional("AVMT")
        self._fold_mute(state, decode_mute(mute_raw) if mute_raw is not None else None)
        if pjclass >= 2:
            freeze = await self._optional("FREZ", pjclass=2)
            state["freeze"] = {"1": "on", "0": "off"}.get(freeze or "")
        self._state = state
        return dict(state)

    def _fold_input(self, state: dict[str, Any], code: str | None) -> None:
        state["input_code"] = code
        state["input"] = inputs.name_for(code, self._config.input_names) if code else None

    def _fold_mute(self, state: dict[str, Any], mute: Mute | None) -> None:
        state["mute"] = None if mute is None else ("on" if mute.video or mute.audio else "off")
        state["video_mute"] = None if mute is None else mute.video
        state["audio_mute"] = None if mute is None else mute.audio

    def _note_errors(self, errors: dict[str, str]) -> None:
        """Emit one `projector_fault` event per category whose level changed since last seen."""
        previous: dict[str, str] = self._ctx.memory.get("errors") or {}  # survives a reconnect
        for category, level in errors.items():
            before = previous.get(category, "ok")
            if level != before:
                ProjectorFault.model_validate(
                    {"category": category, "level": level, "previous": before}
                ).emit(self._ctx)
                # `status`, not `level`: structlog owns the `level` key.
                self._ctx.log.warning(
                    "pjlink_error_status_changed", category=category, status=level, previous=before
                )
        self._ctx.memory["errors"] = dict(errors)

    def _on_notification(self, note: Notification) -> None:
        """Fold a class 2 notification into the last state; the next poll confirms it."""
        self._ctx.log.info("pjlink_notification", command=note.command)
        if note.command == "POWR":
            self._state["power"] = note.value
        elif note.command == "INPT" and isinstance(note.value, str):
            self._fold_input(self._state, note.value)
        elif note.command == "ERST" and isinstance(note.value, dict):
            self._state["errors"] = note.value
            self._note_errors(note.value)
        elif note.command == "AVMT" and isinstance(note.value, Mute):
            self._fold_mute(self._state, note.value)
        elif note.command == "LKUP":
            self._state["mac"] = note.value

    def last_state(self) -> dict[str, Any]:
        """The state as of the last poll plus any notifications since (no I/O)."""
        return dict(self._state)

    @staticmethod
    async def _addresses(host: str) -> set[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise Unreachable(f"cannot resolve {host}: {exc}") from None
        return {str(info[4][0]) for info in infos}
