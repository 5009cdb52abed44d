"""`make demo` itself: the simulated branch comes up whole, buffers without a broker, and stops
cleanly on Ctrl-C, saying what waits for HQ. Its store and socket go to a temporary folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.daemon import REPO, cli
from tests.support.media import VTEST, require


def test_the_demo_branch_runs_every_device_and_the_camera_then_stops_cleanly(
    tmp_path: Path,
) -> None:
    require(VTEST)
    sock = tmp_path / "run" / "control.sock"
    text = (REPO / "config" / "demo.yaml").read_text()
    for old, new in {  # the demo's own store, socket and serial pty: into tmp_path
        "data_dir: ../var/demo": f"data_dir: {tmp_path / 'data'}",
        "control_socket: ../var/demo/control.sock": f"control_socket: {sock}",
        "port: var/demo/tty-teller-screen": f"port: {tmp_path / 'data' / 'tty-teller-screen'}",
    }.items():
        assert old in text, f"config/demo.yaml no longer has {old!r}: update this test"
        text = text.replace(old, new)
    # Beside demo.yaml, so its relative paths (the video, the demo secrets) hold.
    config = REPO / "config" / f".test-demo-{os.getpid()}.yaml"
    config.write_text(text)
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.demo", str(config)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        status: dict[str, object] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            got = cli("status", "--json", "--socket", str(sock))
            if got.returncode == 0:
                status = json.loads(got.stdout)
                devices = status["devices"]
                cameras = status["cameras"]
                assert isinstance(devices, list) and isinstance(cameras, dict)
                if (
                    len(devices) == 7
                    and all(d["online"] for d in devices)
                    and cameras["entrance"]["frames"] > 0
                ):
                    break
            time.sleep(1)
        else:
            raise AssertionError(
                f"the demo did not come up whole: {status}\n{out_path.read_text()}"
            )
        uplink = status["uplink"]
        assert isinstance(uplink, dict) and uplink["state"] == "buffering", uplink
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
        code = proc.wait(timeout=60)
        config.unlink()
    text = out_path.read_text()
    assert code == 0, text[-3000:]
    assert "Traceback" not in text
    assert "items wait in" in text and "make clean" in text, text[-1500:]
