"""The daemon: wires store, supervisor, router, control socket, uplink and cameras, and runs them.

Start-up order follows the data flow (store first, so nothing a device emits is lost); shutdown
runs it backwards: stop accepting commands, stop devices, say goodbye on MQTT, flush the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from .. import __version__
from ..settings.errors import ConfigError
from ..settings.loader import config_hash, load
from ..settings.root import Settings
from ..store import Store
from ..store.items import ItemClass, NewItem
from .device import DeviceStatus
from .handlers import control_handlers
from .router import Router
from .sdnotify import notify, watchdog_interval_s
from .supervisor import Supervisor

log = structlog.get_logger("edge_agent.runtime")

SHUTDOWN_BUDGET_S = 4.0
#: The model manifest and fetched weights (`edge-agent models fetch`); never downloaded at run time.
MODELS_DIR = Path(
    os.environ.get("EDGE_AGENT_MODELS_DIR") or Path(__file__).resolve().parents[2] / "models"
)


class Agent:
    def __init__(self, config_path: Path, settings: Settings) -> None:
        self.config_path = config_path
        self.settings = settings
        self.config_hash = config_hash(settings)
        self.started_at = time.time()
        self.version = __version__
        self.store = Store(settings.agent.data_dir / "edge-agent.db", settings.store)
        self.supervisor = Supervisor(
            submit=self.store.submit, on_state=self._device_state, on_removed=self._device_removed
        )
        self.router = Router(
            self.supervisor,
            self.store,
            agent_actions={"ping": self._ping, "reload": self._reload_action},
        )
        self.uplink: Any = None
        self.cameras: dict[str, Any] = {}
        self._camera_tasks: dict[str, asyncio.Task[None]] = {}
        self._uplink_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()

    # --- callbacks from the supervisor -------------------------------------------------------
    def _device_state(self, status: DeviceStatus) -> None:
        payload = status.payload(time.time())
        asyncio.get_running_loop().create_task(
            self.store.save_device_state(status.id, payload), name=f"device[{status.id}].save_state"
        )
        if self.uplink is not None:
            self.uplink.device_state_changed(status.id, payload)

    def _device_removed(self, device_id: str) -> None:
        asyncio.get_running_loop().create_task(
            self.store.delete_device_state(device_id), name=f"device[{device_id}].forget"
        )
        if self.uplink is not None:
            self.uplink.device_removed(device_id)

    # --- agent actions -----------------------------------------------------------------------
    async def _ping(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "pong": True,
            "version": self.version,
            "uptime_s": round(time.time() - self.started_at, 1),
        }

    async def _reload_action(self, _args: dict[str, Any]) -> dict[str, Any]:
        return await self.reload()

    async def reload(self) -> dict[str, Any]:
        """Re-read the config; apply only what changed. A bad file keeps the old config running."""
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(load, self.config_path)
            except ConfigError as exc:
                for issue in exc.issues:
                    log.error("reload_rejected", issue=str(issue))  # noqa: TRY400 - a user error, no traceback
                return {"applied": False, "errors": [str(i) for i in exc.issues]}
            changes = await self.supervisor.apply(new.devices)
            if new.cameras != self.settings.cameras:
                await self._apply_cameras(new)
                changes["cameras"] = [c.id for c in new.cameras]
            if new.uplink != self.settings.uplink or new.agent != self.settings.agent:
                log.warning(
                    "reload_partial", detail="agent/uplink changes take effect after a restart"
                )
            self.settings = new
            self.config_hash = config_hash(new)
            log.info("reload_applied", config_hash=self.config_hash, **changes)
            return {"applied": True, "config_hash": self.config_hash, **changes}

    # --- health / status ---------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        devices = {
            r.status.id: {"online": r.status.online, "reason": r.status.reason.value}
            for r in self.supervisor.runners()
        }
        cameras = {cid: cam.snapshot_state() for cid, cam in self.cameras.items()}
        return {
            "subsystems": {
                "store": {"reason": self.store.health_reason()},
                "devices": {
                    "reason": "ok" if all(d["online"] for d in devices.values()) else "degraded",
                    "online": sum(d["online"] for d in devices.values()),
                    "total": len(devices),
                },
                "cameras": {
                    "reason": "ok"
                    if all(c.get("reason") == "ok" for c in cameras.values())
                    else "degraded"
                },
            },
            "devices": devices,
            "cameras": cameras,
        }

    async def status(self) -> dict[str, Any]:
        stats = await self.store.stats()
        return {
            "agent": {
                "branch_id": self.settings.agent.branch_id,
                "agent_id": self.settings.agent.agent_id,
                "version": self.version,
                "pid": os.getpid(),
                "started_at": self.started_at,
                "uptime_s": round(time.time() - self.started_at, 1),
                "config": str(self.config_path),
                "config_hash": self.config_hash,
            },
            "devices": [r.status.as_dict() for r in self.supervisor.runners()],
            "store": dataclasses.asdict(stats),
            "uplink": self.uplink.status() if self.uplink is not None else {"state": "disabled"},
            "cameras": {cid: cam.snapshot_state() for cid, cam in self.cameras.items()},
        }

    # --- cameras -----------------------------------------------------------------------------
    async def _apply_cameras(self, settings: Settings) -> None:
        for cid, task in list(self._camera_tasks.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 3.0)
            del self._camera_tasks[cid]
        self.cameras.clear()
        cams = [c for c in settings.cameras if c.enabled]
        if not cams:
            return
        from ..vision.service import CameraService  # heavy: only when a camera is configured

        for cam in cams:
            service = CameraService(
                cam, MODELS_DIR, self.store.submit, on_state=self._camera_state(cam.id)
            )
            self.cameras[cam.id] = service
            self._camera_tasks[cam.id] = asyncio.create_task(
                self._keep_camera(cam.id, service), name=f"camera[{cam.id}]"
            )

    def _camera_state(self, camera_id: str) -> Callable[[dict[str, Any]], None]:
        """Camera state changes go to the log and, as events, to the store (and so to HQ)."""

        def on_state(state: dict[str, Any]) -> None:
            log.info("camera_state", **{**state, "camera": camera_id})
            self.store.submit(
                NewItem(ItemClass.EVENT, "camera_state", camera_id, time.time(), dict(state))
            )

        return on_state

    @staticmethod
    async def _keep_camera(camera_id: str, service: Any) -> None:
        """A bug in the camera service must not leave a camera dark: log it, start it again."""
        while True:
            try:
                await service.run()
                return
            except Exception:
                log.exception("camera_service_crashed", camera=camera_id)
                await asyncio.sleep(5.0)

    # --- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> int:
        await self.store.open()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: loop.create_task(self.reload(), name="reload")
        )
        from ..control.server import ControlServer

        control = ControlServer(self.settings.agent.control_socket, control_handlers(self))
        await control.start()
        await self.supervisor.apply(self.settings.devices)
        await self._apply_cameras(self.settings)
        if self.settings.uplink.enabled:
            from ..uplink import Uplink  # aiomqtt loads only when the uplink is on

            self.uplink = Uplink(
                self.settings,
                self.store,
                self.router,
                health=self.health,
                on_reload=self.reload,
                config_hash=self.config_hash,
                version=self.version,
            )
            self._uplink_task = asyncio.create_task(self.uplink.run(), name="uplink")
        else:
            log.warning(
                "uplink_disabled", detail="items are kept in the store until the uplink is enabled"
            )
        watchdog = asyncio.create_task(self._watchdog(), name="sd_notify.watchdog")
        notify("READY=1")
        log.info(
            "agent_started",
            version=self.version,
            branch=self.settings.agent.branch_id,
            agent=self.settings.agent.agent_id,
            devices=len(self.settings.devices),
            cameras=len(self.settings.cameras),
            config_hash=self.config_hash,
        )
        await self._stop.wait()
        notify("STOPPING=1")
        log.info("agent_stopping")
        watchdog.cancel()
        await self._shutdown(control)
        log.info("agent_stopped")
        return 0

    async def _shutdown(self, control: Any) -> None:
        deadline = time.monotonic() + SHUTDOWN_BUDGET_S
        await control.stop()
        await self.supervisor.stop_all()
        for task in self._camera_tasks.values():
            task.cancel()
        await asyncio.gather(*self._camera_tasks.values(), return_exceptions=True)
        if self.uplink is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.uplink.stop(), max(0.5, deadline - time.monotonic() - 1.0)
                )
        if self._uplink_task is not None:
            self._uplink_task.cancel()
            await asyncio.gather(self._uplink_task, return_exceptions=True)
        await self.store.close()

    async def _watchdog(self) -> None:
        interval = watchdog_interval_s(self.settings.agent.watchdog_interval_s)
        while True:
            online = sum(r.status.online for r in self.supervisor.runners())
            notify(f"WATCHDOG=1\nSTATUS={online}/{len(self.supervisor.runners())} devices online")
            await asyncio.sleep(interval)


def run(config_path: Path) -> int:
    """Entry point of `edge-agent run`: load the config (errors exit 3) and run until signalled."""
    settings = load(config_path)
    return asyncio.run(Agent(config_path, settings).run())
