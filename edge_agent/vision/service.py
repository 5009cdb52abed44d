"""What the daemon runs per camera: a supervised worker process plus the minute aggregator.

The worker (vision.worker) does capture, detection and tracking in its own 'spawn' process; this
side only reads compact results from a pipe (in a thread, so the event loop never blocks), feeds
the aggregator, and restarts the worker with jittered exponential backoff when it dies. The
aggregator lives here, so a worker killed mid-minute loses no counted crossing: see aggregate.py.

Reason codes: ok, no_signal, frozen, auth_failed, decode_error (from the capture), crashed (the
worker died), stalled (the worker went silent and was killed), model_missing (fix with
`edge-agent models fetch`; retried slowly).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import structlog

from edge_agent.settings.cameras import CameraSettings
from edge_agent.store.items import NewItem

from ..backoff import Backoff
from .aggregate import Aggregator
from .pipeline import FrameResult
from .summaries import CameraStateEvent
from .worker import HEARTBEAT_S, worker_main

log = structlog.get_logger("edge_agent.vision")

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0
MODEL_RETRY_S = 60.0
POLL_S = 0.25
HEALTHY_AFTER_S = 30.0  # a worker that ran this long resets the backoff
#: A worker silent this long is stuck (a decoder or driver call that never returns): it is
#: killed and restarted. Workers send at least a heartbeat every STALL_S / 12 (5 s), and
#: capture's network timeouts are 10 s, so this leaves room for both.
STALL_S = 60.0
#: Before its first word a worker may take this long (Python start-up, imports, model load on a
#: slow disk), however short STALL_S is.
STARTUP_S = 120.0


class CameraService:
    """Runs one camera until cancelled. `snapshot_state()` feeds health and `edge-agent status`."""

    def __init__(
        self,
        settings: CameraSettings,
        models_dir: Path,
        emit: Callable[[NewItem], None],
        *,
        on_state: Callable[[dict[str, Any]], None],
        clock: Callable[[], float] = time.time,
        pipeline_factory: str | None = None,
    ) -> None:
        self.settings = settings
        self.models_dir = models_dir
        self._on_state = on_state
        self._clock = clock
        self._factory = pipeline_factory
        self.aggregator = Aggregator(settings, emit)
        self.state = "starting"
        self.reason = "ok"
        self.detail = ""
        self.restarts = 0
        self.frames = 0
        self.worker_pid: int | None = None
        self._recent: deque[float] = deque(maxlen=50)
        self._last: FrameResult | None = None
        self._draining: asyncio.Future[tuple[list[tuple[str, dict[str, Any]]], bool]] | None = None

    async def run(self) -> None:
        backoff = Backoff(base_s=BACKOFF_MIN_S, cap_s=BACKOFF_MAX_S)
        try:
            while True:
                started = time.monotonic()
                exit_reason = await self._run_worker()
                if exit_reason == "model_missing":
                    delay = MODEL_RETRY_S
                else:
                    if time.monotonic() - started > HEALTHY_AFTER_S:
                        backoff.reset()
                    delay = backoff.next_delay()
                self.restarts += 1
                log.warning(
                    "camera_worker_exited",
                    camera=self.settings.id,
                    reason=exit_reason,
                    retry_in_s=round(delay, 1),
                )
                await self._sleep_ticking(delay)
        finally:
            self.aggregator.close()
            self._set_state("stopped", self.reason, self.detail)

    def snapshot_state(self) -> dict[str, Any]:
        last = self._last
        return {
            "id": self.settings.id,
            "state": self.state,
            "reason": self.reason,
            "detail": self.detail,
            "fps": round(self.fps, 2),
            "frames": self.frames,
            "restarts": self.restarts,
            "people": last.people if last else 0,
            "close_ups": None if last is None or last.close_ups_on is None else last.close_ups_on,
            "engine": last.engine if last else None,
            "zones": dict(last.zones) if last else {},
            "lines": {k: dict(v) for k, v in self.aggregator.totals.items()},
        }

    @property
    def fps(self) -> float:
        r = self._recent
        if len(r) < 2 or r[-1] <= r[0]:
            return 0.0
        return (len(r) - 1) / (r[-1] - r[0])

    async def _run_worker(self) -> str:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=worker_main,
            args=(
                self.settings.model_dump_json(),
                str(self.models_dir),
                child,
                self._factory,
                min(HEARTBEAT_S, STALL_S / 12),
            ),
            name=f"camera[{self.settings.id}]",
            daemon=True,
        )
        proc.start()
        child.close()
        self.worker_pid = proc.pid
        log.info("camera_worker_started", camera=self.settings.id, pid=proc.pid)
        try:
            return await self._pump(proc, parent)
        finally:
            # The reader thread may still be inside conn.poll(): let it return before the pipe's
            # descriptor is closed (and possibly reused).
            draining, self._draining = self._draining, None
            if draining is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(draining), POLL_S + 1.0)
                self._handle_late(draining)
            parent.close()
            await asyncio.to_thread(_stop, proc)
            self.worker_pid = None

    async def _pump(self, proc: BaseProcess, conn: Connection) -> str:
        heard_at = time.monotonic()
        limit = max(STALL_S, STARTUP_S)  # until the worker has said anything at all
        while True:
            self._draining = asyncio.ensure_future(asyncio.to_thread(_drain, conn, POLL_S))
            msgs, closed = await asyncio.shield(self._draining)
            self._draining = None  # handled here, not again when the worker stops
            if msgs:
                heard_at, limit = time.monotonic(), STALL_S
            elif not closed and time.monotonic() - heard_at > limit:
                silent = round(time.monotonic() - heard_at)
                self._set_state("down", "stalled", f"no word from the worker for {silent} s")
                return "stalled"
            for kind, body in msgs:
                fatal = self._handle(kind, body)
                if fatal:
                    return fatal
            self.aggregator.tick(self._clock())
            if closed:
                await asyncio.to_thread(proc.join, 2.0)
                self._set_state("down", "crashed", f"worker exit code {proc.exitcode}")
                return "crashed"

    def _handle(self, kind: str, body: dict[str, Any]) -> str | None:
        if kind == "frame":
            r = FrameResult(**body)
            self.aggregator.add(r)
            self._last = r
            self.frames += 1
            self._recent.append(r.ts)
            if self.state != "running" and self.reason == "ok":
                self._set_state("running", "ok", "")
        elif kind == "state":
            reason = str(body.get("reason", "ok"))
            self._set_state(
                "running" if reason == "ok" else "down", reason, str(body.get("detail", ""))
            )
        elif kind == "fatal":
            reason = str(body.get("reason", "crashed"))
            self._set_state("down", reason, str(body.get("detail", "")))
            return reason
        return None

    def _handle_late(self, draining: asyncio.Future[Any]) -> None:
        """Frames read off the pipe when the camera was stopped (shutdown, reload): they still
        count, since the aggregator's last partial minute is flushed after this."""
        if not draining.done() or draining.cancelled() or draining.exception() is not None:
            return
        msgs, _closed = draining.result()
        for kind, body in msgs:
            if kind == "frame":
                self._handle(kind, body)

    def _set_state(self, state: str, reason: str, detail: str) -> None:
        if (state, reason) == (self.state, self.reason):
            return
        self.state, self.reason, self.detail = state, reason, detail
        self.aggregator.set_state("ok" if state == "running" else state, reason)
        log.info("camera_state", camera=self.settings.id, state=state, reason=reason, detail=detail)
        event = CameraStateEvent(
            camera=self.settings.id, state=state, reason=reason, detail=detail, ts=self._clock()
        )
        self._on_state(event.data())

    async def _sleep_ticking(self, delay: float) -> None:
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 1.0))
            self.aggregator.tick(self._clock())


def _drain(conn: Connection, timeout: float) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """All waiting messages (waits up to `timeout` for the first); closed=True at EOF."""
    out: list[tuple[str, dict[str, Any]]] = []
    try:
        if not conn.poll(timeout):
            return out, False
        while len(out) < 500:
            out.append(conn.recv())
            if not conn.poll(0):
                break
    except (EOFError, OSError):
        return out, True
    return out, False


def _stop(proc: BaseProcess) -> None:
    if proc.is_alive():
        proc.terminate()
        proc.join(2.0)
    if proc.is_alive():
        proc.kill()
        proc.join(2.0)
    with contextlib.suppress(ValueError):
        proc.close()
