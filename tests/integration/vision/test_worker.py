"""The per-camera worker process under the daemon's CameraService: isolation and restarts."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge_agent.settings.cameras import CameraSettings
from edge_agent.store.items import NewItem
from edge_agent.vision import service, worker
from edge_agent.vision.service import CameraService
from tests.integration.vision.gt_support import walkers_video
from tests.support.net import free_port

FACTORY = "tests.integration.vision.gt_support:blob_pipeline"
DOOR = {"id": "door", "points": [[0.5, 0.1], [0.5, 0.95]]}


def camera(source: str, **kw: object) -> CameraSettings:
    base: dict[str, object] = {
        "id": "cam1",
        "source": source,
        "width": 320,
        "height": 240,
        "lines": [DOOR],
        "motion_gate": False,
    }
    base.update(kw)
    return CameraSettings.model_validate(base)


class Run:
    """A CameraService running in the background, with everything it emitted."""

    def __init__(
        self, cam: CameraSettings, models_dir: Path, factory: str | None = FACTORY
    ) -> None:
        self.items: list[NewItem] = []
        self.states: list[dict[str, Any]] = []
        self.svc = CameraService(
            cam,
            models_dir,
            self.items.append,
            on_state=self.states.append,
            pipeline_factory=factory,
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Run:
        self.task = asyncio.create_task(self.svc.run(), name="test.camera")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task

    async def until(self, check: Callable[[], bool], timeout: float = 40.0) -> None:
        for _ in range(int(timeout / 0.1)):
            if check():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out; state={self.svc.snapshot_state()} states={self.states}")


@pytest.fixture
def walking_video(tmp_path: Path) -> Path:
    # 2 s loop: one person walks right to left through the door each time round
    return walkers_video(tmp_path / "loop.avi", [(0.85, 0.7, 0.15, 0.7)], frames=20)


async def test_counts_arrive_from_the_worker_process(walking_video: Path, tmp_path: Path) -> None:
    async with Run(camera(str(walking_video)), tmp_path) as run:
        await run.until(lambda: run.svc.aggregator.totals["door"]["in"] >= 1)
        snap = run.svc.snapshot_state()
        assert snap["state"] == "running"
        assert snap["reason"] == "ok"
        assert snap["lines"]["door"]["in"] >= 1
        assert run.svc.worker_pid not in (None, os.getpid())


async def test_camera_workers_yield_the_cpu_to_the_daemon(
    walking_video: Path, tmp_path: Path
) -> None:
    # Four busy cameras on two cores must not delay a device command in the daemon's process.
    async with Run(camera(str(walking_video)), tmp_path) as run:
        await run.until(lambda: run.svc.worker_pid is not None and run.svc.state == "running")
        pid = run.svc.worker_pid
        assert pid is not None
        want = min(os.getpriority(os.PRIO_PROCESS, 0) + worker.WORKER_NICE, 19)
        threads = list(Path(f"/proc/{pid}/task").iterdir())
        assert len(threads) > 1  # numpy's and the decoder's threads too, not only the main one
        for task in threads:
            try:
                stat = (task / "stat").read_text()
            except FileNotFoundError:
                continue  # a thread that has just ended
            nice = int(stat.rsplit(")", 1)[1].split()[16])
            assert nice == want, task.name


async def test_killed_worker_is_restarted_and_no_count_is_lost(
    walking_video: Path, tmp_path: Path
) -> None:
    async with Run(camera(str(walking_video)), tmp_path) as run:
        await run.until(lambda: run.svc.aggregator.totals["door"]["in"] >= 1)
        before = run.svc.aggregator.totals["door"]["in"]
        pid = run.svc.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await run.until(lambda: any(s["reason"] == "crashed" for s in run.states))
        await run.until(
            lambda: run.svc.worker_pid not in (None, pid) and run.svc.state == "running"
        )
        await run.until(lambda: run.svc.aggregator.totals["door"]["in"] > before)
        assert run.svc.restarts == 1
    # stopping flushes the partial minute: every counted crossing is in an emitted summary
    emitted = sum(i.data["lines"]["door"]["in"] for i in run.items if i.kind == "footfall")
    assert emitted == run.svc.aggregator.totals["door"]["in"]


async def test_a_stuck_worker_is_killed_and_restarted(
    walking_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "STALL_S", 2.0)  # 60 s in production; start-up has 120 s
    stuck = "tests.integration.vision.gt_support:stuck_pipeline"
    async with Run(camera(str(walking_video)), tmp_path, factory=stuck) as run:
        await run.until(lambda: run.svc.frames >= 10)
        pid = run.svc.worker_pid
        await run.until(lambda: any(s["reason"] == "stalled" for s in run.states), timeout=20)
        await run.until(lambda: run.svc.worker_pid not in (None, pid), timeout=20)
        assert run.svc.restarts >= 1
        assert pid is not None and not _alive(pid)  # the wedged process is gone, not leaked


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_missing_model_is_reported_with_the_fix(tmp_path: Path, walking_video: Path) -> None:
    (tmp_path / "manifest.yaml").write_text(Path("models/manifest.yaml").read_text())
    async with Run(camera(str(walking_video)), tmp_path, factory=None) as run:
        await run.until(lambda: run.svc.reason == "model_missing")
        assert "edge-agent models fetch" in run.svc.snapshot_state()["detail"]


async def test_unreachable_rtsp_camera_reports_no_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker waiting for its camera is not stuck: its heartbeat (every STALL_S / 12) keeps it
    # alive, also while the reconnect backoff (0.5, 1, 2, 4, 8 s...) grows past the stall limit.
    monkeypatch.setattr(service, "STALL_S", 6.0)
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    async with Run(camera(url), tmp_path) as run:
        await run.until(lambda: run.svc.reason == "no_signal")
        assert run.svc.state == "down"
        assert run.svc.snapshot_state()["detail"].startswith(
            f"no video from {url.rsplit('/', 1)[0]}"
        ), "the engineer sees which camera address does not answer"
        await asyncio.sleep(18)
        assert run.svc.reason == "no_signal" and run.svc.restarts == 0


async def test_an_unreachable_camera_leaves_the_log_to_the_agent(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # FFmpeg's "[tcp @ 0x...] Connection refused" and OpenCV's "[ WARN:0] ... can't be used to
    # capture by name" went to stderr on every retry, between the daemon's JSON log lines.
    url = f"rtsp://127.0.0.1:{free_port()}/stream"
    async with Run(camera(url), tmp_path) as run:
        await run.until(lambda: run.svc.reason == "no_signal")
        await run.until(lambda: run.svc.snapshot_state()["detail"].startswith("no video"))
    err = capfd.readouterr().err
    assert "Connection refused" not in err and "WARN" not in err, err[-500:]


async def test_a_credentials_file_broken_after_the_check_is_auth_failed_not_a_crash_loop(
    tmp_path: Path,
) -> None:
    creds = tmp_path / "cam.cred"
    creds.write_bytes(b"viewer:\xff\xfe-saved-as-latin-1")
    cam = camera(f"rtsp://127.0.0.1:{free_port()}/stream", credentials_file=str(creds))
    async with Run(cam, tmp_path) as run:
        await run.until(lambda: run.svc.reason == "auth_failed")
        await asyncio.sleep(3)
        state = run.svc.snapshot_state()
    assert state["reason"] == "auth_failed" and state["restarts"] == 0
    assert str(creds) in state["detail"] and "UTF-8" in state["detail"]


async def test_undecodable_file_reports_decode_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI " + bytes(range(256)) * 8)
    async with Run(camera(str(bad)), tmp_path) as run:
        await run.until(lambda: run.svc.reason == "decode_error")
        assert run.svc.state == "down"
