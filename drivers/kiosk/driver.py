"""`kiosk`: health and control for self-service kiosks that expose a small HTTP/JSON API.

Health comes either from GET `health_path` on every poll, or, when `websocket_path` is set, from
heartbeats the kiosk pushes; a kiosk that stays quiet longer than `heartbeat_timeout_s` is
reported as timed out. `power on` is Wake-on-LAN, because a kiosk that is off has no API to ask.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..sdk import (
    Capability,
    Command,
    DeviceConfig,
    DeviceTimeout,
    DriverContext,
    Unsupported,
)
from .client import HeartbeatWatcher, KioskHttp, cancel, send_wol
from .codec import parse_health, parse_mac, render_body
from .config import KioskConfig


class RunArgs(BaseModel):
    """`run <name> [args]`: call a command configured under `commands:`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)


class KioskDriver:
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.POWER, Capability.SCENE, Capability.WAKE}
    )
    config_model: ClassVar[type[DeviceConfig]] = KioskConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {"run": RunArgs}
    emulator: ClassVar[str | None] = "drivers.kiosk.emulator:from_config"
    #: Wake-on-LAN needs no HTTP session, so it must work while the kiosk is off.
    offline_actions: ClassVar[frozenset[str]] = frozenset({"wake", "power"})

    def __init__(self, config: KioskConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self.volatile_state = frozenset({"heartbeat_age_s", *config.volatile_keys})
        self._lock = asyncio.Lock()
        self._http: KioskHttp | None = None
        self._watcher: HeartbeatWatcher | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._started_at = 0.0

    async def start(self) -> None:
        await self.stop()
        token = None
        if self._config.token_file is not None:
            token = self._ctx.read_secret(self._config.token_file)
        c = self._config
        self._http = KioskHttp(
            c.base_url, token=token, timeout_s=c.timeout_s, retries=c.retries, log=self._ctx.log
        )
        self._started_at = self._ctx.now()
        if c.websocket_path is not None:
            watcher = HeartbeatWatcher(
                self._http,
                c.websocket_path,
                state_key=c.state_key,
                clock=self._ctx.now,
                log=self._ctx.log,
            )
            ws = await watcher.connect()
            self._watcher = watcher
            self._watch_task = asyncio.create_task(
                watcher.run(ws), name=f"device[{c.id}].heartbeat"
            )
        else:
            await self._read_health()
        self._ctx.log.info("kiosk_connected", url=c.base_url, push=c.websocket_path is not None)

    async def _read_health(self) -> dict[str, Any]:
        assert self._http is not None
        body = await self._http.request("GET", self._config.health_path)
        return parse_health(body, self._config.state_key)

    async def poll(self) -> Mapping[str, Any]:
        async with self._lock:
            if self._http is None:
                await self.start()
            if self._watcher is None:
                return {"power": "on", **await self._read_health()}
            now, timeout = self._ctx.now(), self._config.heartbeat_timeout_s
            last = self._watcher.last_at
            age = now - (last if last is not None else self._started_at)
            if age > timeout:
                raise DeviceTimeout(
                    f"no heartbeat from the kiosk for {age:.0f} s (limit {timeout:.0f} s)"
                )
            return {"power": "on", **self._watcher.last_state, "heartbeat_age_s": round(age, 1)}

    async def execute(self, command: Command) -> Mapping[str, Any]:
        action, args = command.action, command.args
        if action in ("wake",) or (action == "power" and args.get("state") == "on"):
            return self._wake()
        async with self._lock:
            if action == "refresh":
                pass  # falls through to the poll below, outside the lock
            elif action == "power":
                return await self._run("power_off", {})
            elif action == "scene":
                return await self._run("scene", args)
            elif action == "run":
                return await self._run(args["name"], args.get("args", {}))
            else:
                raise Unsupported(f"kiosk has no action {action!r}")
        return await self.poll()

    def _wake(self) -> dict[str, Any]:
        c = self._config
        if c.mac is None:
            raise Unsupported("set `mac:` in the kiosk's config to power it on (Wake-on-LAN)")
        send_wol(parse_mac(c.mac), c.wol_broadcast, c.wol_port)
        self._ctx.log.info("kiosk_wol_sent", mac=c.mac, broadcast=c.wol_broadcast, port=c.wol_port)
        return {"power": "waking", "mac": c.mac}

    async def _run(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        spec = self._config.commands.get(name)
        if spec is None:
            known = ", ".join(sorted(self._config.commands)) or "none"
            raise Unsupported(f"no kiosk command {name!r} configured (have: {known})")
        if self._http is None:
            await self.start()
        assert self._http is not None
        body = render_body(spec.body, args) if spec.body is not None else None
        data = await self._http.request(spec.method, spec.path, body)
        self._ctx.log.info("kiosk_command_sent", command=name, method=spec.method, path=spec.path)
        return {"command": name, "response": _response(data)}

    async def probe(self) -> Mapping[str, Any]:
        async with self._lock:
            if self._http is None:
                await self.start()
            health = await self._read_health()
        return {
            "model": str(health.get("model", "kiosk")),
            "class": "kiosk",
            "url": self._config.base_url,
            "version": health.get("version") or health.get("app_version"),
            "mac": self._config.mac,
            "commands": sorted(self._config.commands),
            "health": health,
        }

    async def stop(self) -> None:
        task, self._watch_task = self._watch_task, None
        await cancel(task)
        self._watcher = None
        http, self._http = self._http, None
        if http is not None:
            await http.close()


def _response(data: bytes) -> Any:
    """A command's answer for the caller: JSON when it is JSON, else (trimmed) text."""
    if not data:
        return None
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return data[:200].decode(errors="replace")
