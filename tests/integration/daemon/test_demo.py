"""`make demo` itself: the simulated branch comes up whole, buffers without a broker, and stops
cleanly on Ctrl-C, saying what waits for HQ. Its store and socket go to a temporary folder."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edge_agent.demo import broker_line
from edge_agent.settings.loader import load
from tests.support.daemon import REPO, cli
from tests.support.media import VTEST, require
from tests.support.mosquitto import Mosquitto


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


def test_the_demo_banner_says_a_broker_answers_on_its_port_and_how_to_watch_it(
    tmp_path: Path,
) -> None:
    """Someone who starts a broker on the demo's port, to see what would go to HQ, is told the
    agent sends to it (and the topic to watch), not that no broker runs."""
    broker = Mosquitto(tmp_path / "broker", tls=False)
    broker.start()
    try:
        config = tmp_path / "demo.yaml"
        config.write_text(f"""\
agent: {{branch_id: demo-001, agent_id: ipc-1, data_dir: ./data}}
uplink: {{mqtt: {{host: 127.0.0.1, port: {broker.port}}}}}
""")
        line = asyncio.run(broker_line(load(config)))
        assert "not running" not in line, line
        assert (
            f"mosquitto_sub -h 127.0.0.1 -p {broker.port} -v -t 'edge/v1/demo-001/ipc-1/#'" in line
        )
    finally:
        broker.close()
    # the broker gone: the demo's usual case
    assert f"MQTT broker 127.0.0.1:{broker.port} is not running" in asyncio.run(
        broker_line(load(config))
    )
