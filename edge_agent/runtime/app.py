"""The daemon: wires store, supervisor, router, control socket, uplink and cameras, and runs them.

Start-up order follows the data flow (store first, so nothing a device emits is lost). Shutdown
stops accepting commands, says goodbye on MQTT while the link is still healthy (retained
`stopping`, then `offline`), stops devices and cameras, and flushes the store last, all within
SHUTDOWN_BUDGET_S so systemd (and an engineer's SIGTERM) sees exit 0 inside 5 s.

Every background task lives in one asyncio.TaskGroup and is named (`device[lobby-screen]`,
`camera[entrance]`, `uplink`); `spawn` wraps each so a bug in one task is logged, not fatal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from drivers.sdk import Reason

from .. import __version__
from ..aio import cancel_and_wait
from ..settings.errors import ConfigError
from ..settings.loader import config_hash, load
from ..settings.local import local_warnings
from ..settings.root import Settings
from ..store import Store, StoreError, StoreErrorReason
from ..store.clock import kernel_synced
from ..store.items import DEVICE_TOMBSTONE, ItemClass, NewItem
from .device import DeviceStatus
from .handlers import control_handlers
from .router import Router
from .sdnotify import notify, watchdog_interval_s
from .supervisor import TASK_STOP_S, Supervisor

if TYPE_CHECKING:
    from ..control.server import ControlServer
    from ..uplink import Uplink  # imported in run() only when enabled: it loads aiomqtt
    from ..vision.service import CameraService  # imported only when a camera is configured

log = structlog.get_logger("edge_agent.runtime")

SHUTDOWN_BUDGET_S = 4.5
RESTART_SECTIONS = ("agent", "uplink", "store")  # read once at start; a reload only notes them
CAMERA_SERVICE_RESTART_S = 5.0  # a camera service that crashed (a bug) starts again after this
UPLINK_GOODBYE_S = 2.0  # the most of SHUTDOWN_BUDGET_S the MQTT goodbye may take


class StartupError(Exception):
    """The daemon cannot start (store locked or unwritable, socket path unusable); says why, and
    `hint` what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint or (
            "is another edge-agent running on this data_dir? does the service user own "
            "agent.data_dir and the control socket's directory?"
        )


class Agent:
    def __init__(self, config_path: Path, settings: Settings) -> None:
        self.config_path = config_path
        self.settings = settings
        self.config_hash = config_hash(settings)
        self.restart_needed: list[str] = []  # config sections changed on disk, not yet running
        self.started_at = time.time()
        self._started_mono = time.monotonic()  # uptime survives the wall clock being stepped
        self.version = __version__
        self.store = Store(settings.agent.data_dir / "edge-agent.db", settings.store)
        self.supervisor = Supervisor(
            submit=self.store.submit,
            on_state=self._device_state,
            on_removed=self._device_removed,
            spawn=self.spawn,
        )
        self.router = Router(
            self.supervisor,
            self.store,
            agent_actions={"ping": self._ping, "reload": self._reload_action},
        )
        self.uplink: Uplink | None = None
        self.cameras: dict[str, CameraService] = {}
        self._camera_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: asyncio.TaskGroup | None = None
        self._spawned: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A named task in the agent's TaskGroup; an unexpected error is logged, never fatal."""

        async def guarded() -> None:
            try:
                await coro
            except Exception:
                log.exception("task_crashed", task=name)

        if self._tasks is None:  # before run() (tests that drive parts directly)
            task = asyncio.get_running_loop().create_task(guarded(), name=name)
        else:
            task = self._tasks.create_task(guarded(), name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        return task

    # --- callbacks from the supervisor -------------------------------------------------------
    def _device_state(self, status: DeviceStatus) -> None:
        payload = status.payload(time.time())
        self.spawn(self._save_state(status.id, payload), f"device[{status.id}].save_state")
        if self.uplink is not None:
            self.uplink.device_state_changed(status.id, payload)

    def _device_removed(self, device_id: str) -> None:
        # A tombstone, not a delete: the uplink clears the retained state (even after a restart)
        # and then deletes the row.
        self.spawn(
            self._save_state(device_id, dict(DEVICE_TOMBSTONE)), f"device[{device_id}].forget"
        )
        if self.uplink is not None:
            self.uplink.device_removed(device_id)

    async def _save_state(self, device_id: str, state: dict[str, Any]) -> None:
        """Keep a device's last known state. On a full disk it is not kept (the store says why
        in `status`); the live state still goes to HQ, and a removed device is forgotten at the
        next start. A warning, not a crash: nothing accepted is lost."""
        try:
            await self.store.save_device_state(device_id, state)
        except StoreError as exc:
            log.warning("device_state_not_saved", device=device_id, error=str(exc))

    def uptime_s(self) -> float:
        return round(time.monotonic() - self._started_mono, 1)

    # --- agent actions -----------------------------------------------------------------------
    async def _ping(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "pong": True,
            "version": self.version,
            "uptime_s": self.uptime_s(),
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
            # agent/uplink/store stay as they started until a restart: compared with what runs,
            # a second reload still says so, and undoing the edit clears it.
            running = {name: getattr(self.settings, name) for name in RESTART_SECTIONS}
            waiting = [name for name in RESTART_SECTIONS if getattr(new, name) != running[name]]
            if waiting:
                log.warning(
                    "reload_partial",
                    sections=waiting,
                    detail="agent/uplink/store changes take effect after a restart",
                )
                changes["restart_needed"] = waiting
            self.restart_needed = waiting
            self.settings = new.model_copy(update=running)
            self.config_hash = config_hash(self.settings)  # the config that runs, not the file
            if self.uplink is not None:
                self.uplink.config_changed(self.config_hash)
            log.info("reload_applied", config_hash=self.config_hash, **changes)
            self.spawn(self._warn_local(), "config_warnings")
            return {"applied": True, "config_hash": self.config_hash, **changes}

    # --- health / status ---------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        devices = {
            r.status.id: {"online": r.status.online, "reason": r.status.reason.value}
            for r in self.supervisor.runners()
        }
        cameras = {cid: cam.snapshot_state() for cid, cam in self.cameras.items()}
        store = self.store.health_reason()
        # A device switched off in the config (`enabled: false`) is not a fault: left out.
        enabled = [d for d in devices.values() if d["reason"] != Reason.DISABLED.value]
        devices_ok = all(d["online"] for d in enabled)
        cameras_ok = all(c.get("reason") == "ok" for c in cameras.values())
        return {
            "subsystems": {
                "store": {"state": _state(store == "ok"), "reason": store},
                "devices": {
                    "state": _state(devices_ok),
                    "reason": "ok" if devices_ok else "degraded",
                    "online": sum(d["online"] for d in enabled),
                    "total": len(enabled),
                    "disabled": len(devices) - len(enabled),
                },
                "cameras": {
                    "state": _state(cameras_ok),
                    "reason": "ok" if cameras_ok else "degraded",
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
                "uptime_s": self.uptime_s(),
                "config": str(self.config_path),
                "config_hash": self.config_hash,
                "restart_needed": self.restart_needed,
                "clock": {"synced": kernel_synced(), **dataclasses.asdict(stats.clock_steps)},
            },
            "devices": [r.status.as_dict() for r in self.supervisor.runners()],
            "store": {k: v for k, v in dataclasses.asdict(stats).items() if k != "clock_steps"},
            "uplink": self.uplink.status() if self.uplink is not None else {"state": "disabled"},
            "cameras": {cid: cam.snapshot_state() for cid, cam in self.cameras.items()},
        }

    # --- cameras -----------------------------------------------------------------------------
    async def _apply_cameras(self, settings: Settings) -> None:
        for cid, task in list(self._camera_tasks.items()):
            await cancel_and_wait(task, TASK_STOP_S)
            del self._camera_tasks[cid]
        self.cameras.clear()
        cams = [c for c in settings.cameras if c.enabled]
        if not cams:
            return
        from ..vision.models import default_models_dir
        from ..vision.service import CameraService  # heavy: only when a camera is configured

        for cam in cams:
            service = CameraService(
                cam, default_models_dir(), self.store.submit, on_state=self._camera_state(cam.id)
            )
            self.cameras[cam.id] = service
            self._camera_tasks[cam.id] = self.spawn(
                self._keep_camera(cam.id, service), f"camera[{cam.id}]"
            )

    def _camera_state(self, camera_id: str) -> Callable[[dict[str, Any]], None]:
        """Camera state changes (the service logs them) go, as events, to the store and so to HQ."""

        def on_state(state: dict[str, Any]) -> None:
            self.store.submit(
                NewItem(ItemClass.EVENT, "camera_state", camera_id, time.time(), dict(state))
            )

        return on_state

    @staticmethod
    async def _keep_camera(camera_id: str, service: CameraService) -> None:
        """A bug in the camera service must not leave a camera dark: log it, start it again."""
        while True:
            try:
                await service.run()
                return
            except Exception:
                log.exception("camera_service_crashed", camera=camera_id)
                await asyncio.sleep(CAMERA_SERVICE_RESTART_S)

    # --- lifecycle ---------------------------------------------------------------------------
    async def _open_store(self) -> None:
        try:
            await self.store.open()
        except StoreError as exc:
            raise StartupError(
                f"cannot open the store at {self.store.path}: {exc}",
                _store_hint(exc, self.store.path),
            ) from exc
        except OSError as exc:
            raise StartupError(
                f"cannot open the store at {self.store.path}: {exc.strerror}"
            ) from exc

    async def _forget_stale_devices(self) -> None:
        """Devices removed from the config while the daemon was down: clear their retained state."""
        configured = {d.id for d in self.settings.devices}
        for device_id, state in (await self.store.device_states()).items():
            if device_id not in configured and state != DEVICE_TOMBSTONE:
                await self.store.save_device_state(device_id, dict(DEVICE_TOMBSTONE))
                log.info("device_forgotten", device=device_id, detail="no longer in the config")

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT. Raises StartupError when the daemon cannot start."""
        await self._open_store()
        from ..control.server import ControlServer

        control = ControlServer(self.settings.agent.control_socket, control_handlers(self))
        try:
            await control.start()
        except OSError as exc:
            await self.store.close()
            raise StartupError(
                f"cannot listen on {self.settings.agent.control_socket}: {exc.strerror}"
            ) from exc
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: self.spawn(self._reload_on_sighup(), "reload")
        )
        failed: Exception | None = None
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            self.spawn(control.watch(), "control.watch")
            if self.settings.uplink.enabled:
                from ..uplink import Uplink  # aiomqtt loads only when the uplink is on

                self.uplink = Uplink(
                    self.settings,
                    self.store,
                    self.router,
                    health=self.health,
                    config_hash=self.config_hash,
                    version=self.version,
                )
                self.spawn(self.uplink.run(), "uplink")
            else:
                log.warning(
                    "uplink_disabled",
                    detail="items are kept in the store until the uplink is enabled",
                )
            try:
                await self._forget_stale_devices()
                await self.supervisor.apply(self.settings.devices)
                await self._apply_cameras(self.settings)
            except Exception as exc:  # said once, then the same clean stop as SIGTERM
                failed = exc
                log.exception("agent_start_failed", error=f"{type(exc).__name__}: {exc}")
                self._stop.set()
            else:
                self.spawn(self._watchdog(), "sd_notify.watchdog")
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
                self.spawn(self._warn_local(), "config_warnings")
            await self._stop.wait()
            notify("STOPPING=1")
            log.info("agent_stopping")
            await self._shutdown(control)
            for task in list(self._spawned):  # whatever is left (uplink, watchdog, state saves)
                task.cancel()
        self._tasks = None
        if failed is not None:  # a TaskGroup would have raised it wrapped in an ExceptionGroup
            raise StartupError(f"{type(failed).__name__}: {failed}") from failed
        log.info("agent_stopped")
        return 0

    async def _warn_local(self) -> None:
        """What the config names that this PC lacks (a camera file, a serial port), in the journal
        at start and after each reload: the daemon runs anyway, and `config check` says the same.
        Spawned, so a failure here is logged (`task_crashed`) and never stops a start or reload."""
        for warning in await asyncio.to_thread(local_warnings, self.config_path):
            log.warning("config_warning", issue=str(warning))

    async def _reload_on_sighup(self) -> None:
        """`systemctl reload`: the result goes to the journal (reload logs it), no caller waits."""
        await self.reload()

    async def _shutdown(self, control: ControlServer) -> None:
        """Goodbye on MQTT first (the link is healthiest now), then devices, cameras, store."""
        deadline = time.monotonic() + SHUTDOWN_BUDGET_S
        await control.stop()
        if self.uplink is not None:
            goodbye = min(self.settings.uplink.stop_timeout_s, UPLINK_GOODBYE_S)
            try:
                await asyncio.wait_for(self.uplink.stop(budget_s=goodbye), goodbye + 0.5)
            except Exception as exc:  # noqa: BLE001 - a failed goodbye must not block the shutdown
                log.warning("uplink_stop_incomplete", error=f"{type(exc).__name__}: {exc}")
        remaining = max(0.5, deadline - time.monotonic() - 0.5)
        for task in self._camera_tasks.values():
            task.cancel()
        stopping = asyncio.gather(
            self.supervisor.stop_all(), *self._camera_tasks.values(), return_exceptions=True
        )
        try:
            await asyncio.wait_for(stopping, remaining)
        except TimeoutError:
            log.warning(
                "shutdown_slow", detail="devices or cameras did not stop in time; closing anyway"
            )
        await self.store.close()

    async def _watchdog(self) -> None:
        interval = watchdog_interval_s(self.settings.agent.watchdog_interval_s)
        while True:
            enabled = [r for r in self.supervisor.runners() if r.config.enabled]
            online = sum(r.status.online for r in enabled)
            notify(f"WATCHDOG=1\nSTATUS={online}/{len(enabled)} devices online")
            await asyncio.sleep(interval)


def _state(ok: bool) -> str:
    return "ok" if ok else "degraded"


def _store_hint(exc: StoreError, path: Path) -> str | None:
    """What to do about a store that will not open, by its reason; None: the general hint."""
    folder = path.parent
    # The WAL holds the newest accepted items: a .db moved without it loses them for good.
    set_aside = f"move {path.name}, {path.name}-wal and {path.name}-shm aside together"
    if exc.reason is StoreErrorReason.DISK_FULL:
        return f"the disk holding {folder} is full: free space there (`df -h {folder}`), then start again"
    if exc.reason is StoreErrorReason.LOCKED:
        return "stop the other edge-agent first (`systemctl status edge-agent`), or give this one its own data_dir"
    if exc.reason is StoreErrorReason.SCHEMA_TOO_NEW:
        return (
            f"a newer edge-agent wrote this store: run that version again, or {set_aside} to "
            "start afresh"
        )
    if exc.reason is StoreErrorReason.CORRUPT:
        return f"{set_aside} (keep them for support) and start again with an empty store"
    return None
