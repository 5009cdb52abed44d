"""What an engineer reads on a terminal: the table views, not just --json."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.daemon import Daemon, cli, wait_for
from tests.support.net import free_port


def test_status_and_sync_status_say_the_agent_is_buffering_without_a_broker(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/control.sock}}
uplink: {{mqtt: {{host: 127.0.0.1, port: {free_port()}}}}}
devices:
  - {{id: lobby-screen, driver: simulated_display, poll_interval_s: 0.5}}
  - {{id: co2, driver: simulated_sensor, poll_interval_s: 0.2}}
""")
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.status()["store"]["depth"] > 5)
        status = cli("status", "--config", str(cfg))
        assert status.returncode == 0, status.stderr
        assert "buffering" in status.stdout and "nothing is lost" in status.stdout
        assert "lobby-screen" in status.stdout and "online" in status.stdout
        sync = cli("sync", "status", "--config", str(cfg))
        assert sync.returncode == 0, sync.stderr
        assert "buffering" in sync.stdout
        devices = cli("devices", "list", "--config", str(cfg))
        assert devices.returncode == 0 and "co2" in devices.stdout
        shown = cli("devices", "show", "lobby-screen", "--config", str(cfg))
        assert shown.returncode == 0 and "power" in shown.stdout
        tail = cli("events", "tail", "-n", "5", "--config", str(cfg))
        assert tail.returncode == 0 and "reading" in tail.stdout
        power = cli("devices", "cmd", "lobby-screen", "power", "on", "--config", str(cfg))
        assert power.returncode == 0 and "power=on" in power.stdout, power.stdout
        assert "{'" not in power.stdout + tail.stdout, "values as typed, not Python reprs"
        rebirth = cli("devices", "cmd", "_agent", "rebirth", "--config", str(cfg))
        assert rebirth.returncode == 1, rebirth.stdout + rebirth.stderr
        assert "not connected" in rebirth.stdout and "Traceback" not in rebirth.stderr
        # Nothing can drain with no broker: an `ok` here would tell the engineer it started.
        drain = cli("devices", "cmd", "_agent", "sync_now", "--config", str(cfg))
        assert drain.returncode == 1 and "not connected" in drain.stdout, drain.stdout
        assert d.status()["agent"]["branch_id"] == "t-001"  # still up
        # Mid-edit: the YAML no longer parses. The CLI still finds the running daemon (and says
        # the file is broken), and `reload` names the error while the old config keeps running.
        cfg.write_text(cfg.read_text().replace("  - {id: co2", "   - {id: co2"))
        broken = cli("status", "--config", str(cfg))
        assert broken.returncode == 0, broken.stderr
        assert "lobby-screen" in broken.stdout
        assert f"{cfg.name}:5" in broken.stderr and "control_socket" in broken.stderr
        reload = cli("reload", "--config", str(cfg))
        assert reload.returncode != 0 and "no edge-agent daemon" not in reload.stderr
        assert f"{cfg.name}:5" in reload.stdout + reload.stderr
        assert d.device("co2")["online"], "the old config keeps running"
        for out in (status, sync, devices, shown, tail, power, broken, reload):
            assert "Traceback" not in out.stdout + out.stderr
    finally:
        assert d.stop() == 0


def test_simulate_says_which_emulators_did_not_start_and_fails_when_none_did(
    tmp_path: Path,
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/c.sock}}
devices:
  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {port}}}
""")
    try:
        out = cli("simulate", "-c", str(cfg), timeout=30)
    finally:
        taken.close()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "lobby-projector did not start" in out.stderr
    assert "no emulator is running" in " ".join(out.stderr.split())
    assert "Traceback" not in out.stdout + out.stderr
