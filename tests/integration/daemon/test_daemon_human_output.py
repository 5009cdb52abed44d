"""What an engineer reads on a terminal: the table views, not just --json."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
from pathlib import Path

from edge_agent.store.clock import kernel_synced
from tests.support.daemon import Daemon, agent_config, cli, wait_for
from tests.support.net import free_port


def test_status_and_sync_status_say_the_agent_is_buffering_without_a_broker(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.yaml"
    broker = f"mqtt://127.0.0.1:{free_port()}"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/control.sock}}
uplink: {{mqtt: {{host: 127.0.0.1, port: {broker.rsplit(":", 1)[1]}}}}}
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
        # a PC whose clock NTP has not set yet says so (times sent may be off); one that has, not
        assert ("clock not synchronised" in status.stdout) == (kernel_synced() is False)
        sync = cli("sync", "status", "--config", str(cfg))
        assert sync.returncode == 0, sync.stderr
        assert "buffering" in sync.stdout
        devices = cli("devices", "list", "--config", str(cfg))
        assert devices.returncode == 0 and "co2" in devices.stdout
        shown = cli("devices", "show", "lobby-screen", "--config", str(cfg))
        assert shown.returncode == 0 and "power" in shown.stdout
        assert "True" not in shown.stdout and "online" in shown.stdout  # words, not Python
        assert re.search(r"detail\s+│ -", shown.stdout), shown.stdout  # nothing is `-`, as in cmd
        probe = cli("devices", "probe", "lobby-screen", "--config", str(cfg))
        assert probe.returncode == 0 and "[hdmi1,hdmi2,dp]" in probe.stdout, probe.stdout
        tail = cli("events", "tail", "-n", "5", "--config", str(cfg))
        assert tail.returncode == 0 and "reading" in tail.stdout
        head, *items = tail.stdout.splitlines()
        assert head.split() == ["seq", "time", "class", "kind", "device", "data"], tail.stdout
        assert len(items) == 5, "one line an item, under one header"
        power = cli("devices", "cmd", "lobby-screen", "power", "on", "--config", str(cfg))
        assert power.returncode == 0 and "power=on" in power.stdout, power.stdout
        assert "{'" not in power.stdout + tail.stdout, "values as typed, not Python reprs"
        rebirth = cli("devices", "cmd", "_agent", "rebirth", "--config", str(cfg))
        assert rebirth.returncode == 1, rebirth.stdout + rebirth.stderr
        assert "Traceback" not in rebirth.stderr
        # Which broker, why, and that nothing is lost: `not connected` alone could be a device.
        said = f"not connected to the broker {broker} (unreachable), so nothing was sent"
        assert said in rebirth.stdout, rebirth.stdout
        assert "republishes every retained topic when it connects" in rebirth.stdout
        # Nothing can drain with no broker: an `ok` here would tell the engineer it started.
        drain = cli("devices", "cmd", "_agent", "sync_now", "--config", str(cfg))
        assert drain.returncode == 1 and said in drain.stdout, drain.stdout
        assert "drains by itself once it connects" in drain.stdout
        sync_now = cli("sync", "now", "--config", str(cfg))
        assert sync_now.returncode == 1 and "not connected" in sync_now.stderr, sync_now.stderr
        assert "draining" not in sync_now.stdout, "no progress bar for a drain that cannot start"
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
        for out in (status, sync, devices, shown, probe, tail, power, broken, reload):
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
    assert "devices.0 (lobby-projector, pjlink) did not start" in out.stderr
    assert "no emulator could start" in " ".join(out.stderr.split())
    assert "Traceback" not in out.stdout + out.stderr


class Kiosk:
    """A kiosk's /health on loopback that answers what the test sets: `body` with `status`."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        kiosk = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(kiosk.status)
                self.send_header("Content-Length", str(len(kiosk.body)))
                self.end_headers()
                self.wfile.write(kiosk.body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, status: int, body: str | dict[str, object]) -> None:
        self.status = status
        self.body = (body if isinstance(body, str) else json.dumps(body)).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def kiosk_config(tmp_path: Path, port: int) -> Path:
    return agent_config(
        tmp_path,
        f'  - {{id: kiosk-1, driver: kiosk, base_url: "http://127.0.0.1:{port}", '
        "poll_interval_s: 0.3}\n",
    )


def test_text_from_a_device_prints_as_sent_and_is_never_read_as_markup(tmp_path: Path) -> None:
    kiosk = Kiosk()
    kiosk.answer(
        200,
        {
            "power": "on",
            "present": ["asset-tag-1", "staff-badge-7"],  # a [list] rich took for a style
            "error": "printer jam [/dev/usb/lp0]",  # a closing tag that matches nothing
            "note": "[bold]paper low[/bold] :warning:",
        },
    )
    cfg = kiosk_config(tmp_path, kiosk.port)
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.device("kiosk-1")["state"].get("power") == "on")
        status = cli("status", "--config", str(cfg))
        shown = cli("devices", "show", "kiosk-1", "--config", str(cfg))
        probe = cli("devices", "probe", "kiosk-1", "--config", str(cfg))
        tail = cli("events", "tail", "--device", "kiosk-1", "--config", str(cfg))
        kiosk.answer(500, "[/lp0] jam")
        wait_for(lambda: "[/lp0] jam" in (d.device("kiosk-1")["detail"] or ""))
        broken = cli("status", "--config", str(cfg))
        broken_list = cli("devices", "list", "--config", str(cfg))
        broken_show = cli("devices", "show", "kiosk-1", "--config", str(cfg))
    finally:
        assert d.stop() == 0
        kiosk.close()
    for out in (status, shown, probe, tail, broken, broken_list, broken_show):
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Traceback" not in out.stderr
    assert "present=[asset-tag-1,staff-badge-7]" in status.stdout
    for text in ("[asset-tag-1,staff-badge-7]", "printer jam [/dev/usb/lp0]", "[bold]paper low"):
        assert text in shown.stdout, shown.stdout
        assert text.replace("[", "\\[") not in shown.stdout  # no markup escapes left over
    assert ":warning:" in shown.stdout and ":warning:" in probe.stdout  # not an emoji
    assert "printer jam [/dev/usb/lp0]" in probe.stdout
    assert "printer jam [/dev/usb/lp0]" in tail.stdout
    for out in (broken, broken_list, broken_show):
        assert "HTTP 500: [/lp0] jam" in out.stdout, out.stdout


def test_devices_show_says_when_an_offline_device_is_tried_again(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/c.sock}}
uplink: {{enabled: false}}
devices:
  - {{id: dead-projector, driver: pjlink, host: 127.0.0.1, port: {free_port()}}}
""")
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.device("dead-projector")["next_retry_at"])
        probe = cli("devices", "probe", "dead-projector", "--config", str(cfg))
        shown = cli("devices", "show", "dead-projector", "--config", str(cfg))
    finally:
        assert d.stop() == 0
    assert probe.returncode == 1, probe.stdout + probe.stderr
    assert "devices show dead-projector` has the details and next retry" in probe.stderr
    assert shown.returncode == 0, shown.stderr
    # the row the probe's hint promises: `next retry  in 3 s (14:03:05)`
    row = next(line for line in shown.stdout.splitlines() if "next retry" in line)
    assert re.search(r"(in \d+ s|now) \(\d\d:\d\d:\d\d\)", row), row


def test_an_offline_device_shows_its_state_as_last_known(tmp_path: Path) -> None:
    kiosk = Kiosk()
    kiosk.answer(200, {"power": "on", "scene": "idle"})
    cfg = kiosk_config(tmp_path, kiosk.port)
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: d.device("kiosk-1")["state"].get("power") == "on")
        online = cli("devices", "list", "--config", str(cfg))
        kiosk.answer(503, "down for maintenance")
        wait_for(lambda: not d.device("kiosk-1")["online"])
        listed = cli("devices", "list", "--config", str(cfg))
        status = cli("status", "--config", str(cfg))
        shown = cli("devices", "show", "kiosk-1", "--config", str(cfg))
        as_json = cli("devices", "list", "--json", "--config", str(cfg))
    finally:
        assert d.stop() == 0
        kiosk.close()
    for out in (online, listed, status, shown, as_json):
        assert out.returncode == 0, out.stdout + out.stderr
    assert "power=on" in online.stdout and "last known" not in online.stdout
    for out in (listed, status):  # not taken for the kiosk's state now
        row = next(line for line in out.stdout.splitlines() if "kiosk-1" in line)
        assert "offline" in row and "last known: power=on, scene=idle" in row, row
    row = next(line for line in shown.stdout.splitlines() if "state.power" in line)
    assert "last known: on" in row, row
    [kiosk_json] = json.loads(as_json.stdout)  # scripts get the state as it was, unlabelled
    assert kiosk_json["state"] == {"power": "on", "scene": "idle"} and not kiosk_json["online"]


def test_help_shows_flags_without_a_value_and_options_with_their_type() -> None:
    """`--json <bool>` read as if the flag took a value; `--json true` is refused."""
    ran = cli("camera", "snapshot", "--help", env={"COLUMNS": "120"})
    assert ran.returncode == 0, ran.stderr
    rows = {line.split()[1]: line for line in ran.stdout.splitlines() if line.startswith("│ --")}
    assert "<bool>" not in ran.stdout
    assert rows["--json"].split()[2] == "Print", rows["--json"]
    assert "<path>" in rows["--out"] and "<int range>" in rows["--warmup"]
