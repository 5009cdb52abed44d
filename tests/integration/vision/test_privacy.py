"""Privacy: what leaves the camera worker and the vision service is numbers, never pictures."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from structlog.testing import capture_logs

from edge_agent.settings.cameras import CameraSettings
from edge_agent.store.items import NewItem
from edge_agent.vision.service import CameraService
from edge_agent.vision.worker import worker_main
from tests.integration.vision.gt_support import walkers_video

FACTORY = "tests.integration.vision.gt_support:blob_pipeline"
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"BM")
PLAIN = (str, int, float, bool, type(None))


def camera(source: Path) -> CameraSettings:
    return CameraSettings.model_validate(
        {
            "id": "privacy",
            "source": str(source),
            "width": 320,
            "height": 240,
            "motion_gate": False,
            "lines": [{"id": "door", "points": [[0.5, 0.1], [0.5, 0.95]]}],
            "zones": [
                {"id": "left", "kind": "queue", "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}
            ],
        }
    )


def assert_plain(value: Any, path: str = "") -> None:
    """Only JSON-like scalars and containers: no bytes, arrays or objects that could hold pixels."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), path
            assert_plain(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert isinstance(value, PLAIN), f"{path} is {type(value).__name__}"
        assert not isinstance(value, np.generic), path


def assert_no_image(blob: bytes) -> None:
    for magic in IMAGE_MAGIC:
        assert magic not in blob
    assert len(blob) < 4096, "a summary or message should be a few hundred bytes"


@pytest.fixture
def video(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    return walkers_video(media / "walk.avi", [(0.85, 0.7, 0.15, 0.7)], frames=20)


def test_worker_messages_hold_no_pixels(video: Path) -> None:
    parent, child = mp.Pipe(duplex=False)
    settings = camera(video).model_dump_json()
    worker = threading.Thread(
        target=worker_main, args=(settings, "models", child, FACTORY), daemon=True
    )
    worker.start()
    messages = []
    for _ in range(60):
        assert parent.poll(10)
        messages.append(parent.recv())
    parent.close()
    worker.join(10)
    assert not worker.is_alive()
    kinds = {kind for kind, _ in messages}
    assert "frame" in kinds
    for kind, body in messages:
        assert_plain(body, kind)
        assert_no_image(json.dumps(body).encode())


async def test_service_emits_and_writes_only_counts(
    video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    items: list[NewItem] = []
    states: list[dict[str, Any]] = []
    svc = CameraService(
        camera(video), tmp_path, items.append, on_state=states.append, pipeline_factory=FACTORY
    )
    with capture_logs() as logs:
        task = asyncio.create_task(svc.run())
        for _ in range(400):
            if svc.aggregator.totals["door"]["in"] >= 1:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert svc.aggregator.totals["door"]["in"] >= 1
    assert items, "a stopped service flushes its partial minute"
    for item in items:
        assert_plain(item.data, item.kind)
        assert_no_image(json.dumps(item.data).encode())
    for s in states:
        assert_plain(s)
    for entry in logs:
        assert_plain(dict(entry))
    # nothing was written next to the video or in the working directory
    assert sorted(p.name for p in video.parent.iterdir()) == ["walk.avi"]
    assert list(work.iterdir()) == []


def test_debug_frames_are_written_only_when_asked_and_pruned_to_the_limit(
    video: Path, tmp_path: Path
) -> None:
    frames_dir = tmp_path / "debug"
    debug = {"save_frames": True, "frames_dir": str(frames_dir), "every_s": 0.2, "max_files": 3}
    cam = CameraSettings.model_validate({**camera(video).model_dump(), "debug": debug})
    parent, child = mp.Pipe(duplex=False)
    worker = threading.Thread(
        target=worker_main, args=(cam.model_dump_json(), "models", child, FACTORY), daemon=True
    )
    worker.start()
    for _ in range(40):  # 4 s of frames at 10 fps: about 20 chances to save
        assert parent.poll(10)
        parent.recv()
    parent.close()
    worker.join(10)
    files = list(frames_dir.iterdir())
    assert 1 <= len(files) <= 3
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in files)
