"""A camera inside the real daemon: its worker can die without taking anything else down,
and nothing it leaves on disk is an image."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import psutil

from tests.support.daemon import REPO, Daemon, cli, wait_for

VTEST = REPO / "media" / "cache" / "vtest.avi"


def test_sigkilled_camera_worker_restarts_and_the_daemon_keeps_answering(tmp_path: Path) -> None:
    assert VTEST.exists(), "run `make media` (make test does) to fetch the test video"
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/control.sock}}
uplink: {{enabled: false}}
devices:
  - {{id: screen, driver: simulated_display, poll_interval_s: 0.5}}
cameras:
  - id: entrance
    source: {VTEST}
    fps: 10
    width: 640
    height: 480
    detect_fps: 5
    lines: [{{id: west, points: [[0.45, 0.24], [0.45, 0.56]]}}]
    zones: [{{id: plaza, points: [[0.05, 0.35], [0.95, 0.35], [0.95, 0.95], [0.05, 0.95]]}}]
""")
    d = Daemon(cfg).start()
    try:
        camera = lambda: d.status()["cameras"]["entrance"]  # noqa: E731
        wait_for(lambda: camera()["state"] == "running" and camera()["frames"] > 20, timeout=60)
        # Whether the camera has CPU for close-ups depends on this machine; that it says so, not.
        assert camera()["close_ups"] in (True, False)
        shown = cli("status", "--config", str(cfg))
        assert shown.returncode == 0, shown.stderr
        assert "close-ups" in shown.stdout
        row = next(line for line in shown.stdout.splitlines() if "entrance" in line)
        cells = {cell.strip() for cell in row.split("│")}
        assert cells & {"on", "off"}, row  # the camera's own close-ups cell, not any "on"
        # The engine a field engineer checks when a camera runs slow: OpenVINO, installed here.
        assert camera()["engine"] == "openvino"
        assert "engine" in shown.stdout and "openvino" in cells, row
        assert d.proc is not None
        workers = [
            p
            for p in psutil.Process(d.proc.pid).children()
            if any("spawn_main" in part for part in p.cmdline())
        ]
        assert len(workers) == 1, [p.cmdline() for p in workers]
        os.kill(workers[0].pid, signal.SIGKILL)
        wait_for(lambda: camera()["restarts"] >= 1, timeout=30)
        wait_for(lambda: camera()["state"] == "running", timeout=60)
        frames_after = camera()["frames"]
        wait_for(lambda: camera()["frames"] > frames_after, timeout=30)
        assert d.device("screen")["online"], "a camera failure must not touch the devices"
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0
    assert_no_image_bytes(tmp_path / "data")


IMAGE_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"BM6": "BMP",
    b"RIFF": "RIFF/WebP",
}


def assert_no_image_bytes(data_dir: Path) -> None:
    """Nothing the camera produced on disk looks like a picture or a pixel dump."""
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "edge-agent.db" for p in files)
    for path in files:
        blob = path.read_bytes()
        for magic, kind in IMAGE_MAGIC.items():
            assert magic not in blob, f"{kind} bytes in {path.name}"
    with sqlite3.connect(data_dir / "edge-agent.db") as conn:
        kinds = {
            k for (k,) in conn.execute("SELECT DISTINCT kind FROM outbox WHERE device = 'entrance'")
        }
        biggest = conn.execute("SELECT max(length(data)) FROM outbox").fetchone()[0]
    assert "camera_state" in kinds
    assert biggest < 4096, f"an outbox item of {biggest} bytes is too big to be counts"
