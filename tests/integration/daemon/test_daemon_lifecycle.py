"""The daemon as an engineer meets it: start, ask, command, reload, stop."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, cli, wait_for


def write_config(tmp_path: Path, devices: str, extra: str = "") -> Path:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(f"""\
agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: ./data, control_socket: ./run/control.sock}}
uplink: {{enabled: false}}
{extra}
devices:
{devices}
""")
    return cfg


SCREEN = "  - {id: screen, driver: simulated_display, poll_interval_s: 0.5}\n"


@pytest.fixture
def daemon(tmp_path: Path):
    d = Daemon(write_config(tmp_path, SCREEN))
    yield d
    d.stop()


def test_status_answers_and_sigterm_exits_zero(daemon: Daemon) -> None:
    daemon.start()
    status = daemon.status()
    assert status["agent"]["branch_id"] == "t-001"
    wait_for(lambda: daemon.device("screen")["online"])
    sock = daemon.config.parent / "run" / "control.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=5) == 0
    assert not sock.exists()


def test_cli_command_changes_device_state(daemon: Daemon) -> None:
    daemon.start()
    wait_for(lambda: daemon.device("screen")["online"])
    out = cli("devices", "cmd", "screen", "power", "on", "--json", "--config", str(daemon.config))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"]["power"] == "on"
    wait_for(lambda: daemon.device("screen")["state"].get("power") == "on")
    bad = cli(
        "devices", "cmd", "screen", "volume", "loud", "--json", "--config", str(daemon.config)
    )
    assert bad.returncode == 2  # a value the action does not take: bad usage
    assert json.loads(bad.stdout)["error"]["code"] == "invalid_argument"
    missing = cli("devices", "show", "nope", "--config", str(daemon.config))
    assert missing.returncode == 5 and "no device 'nope'" in missing.stderr


def test_cli_runs_the_agents_own_actions(daemon: Daemon) -> None:
    daemon.start()
    cfg = str(daemon.config)
    ping = cli("devices", "cmd", "_agent", "ping", "--json", "--config", cfg)
    assert ping.returncode == 0, ping.stderr
    assert json.loads(ping.stdout)["result"]["pong"] is True
    unknown = cli("devices", "cmd", "_agent", "reboot", "--config", cfg)
    assert unknown.returncode == 1
    assert "unknown_action" in unknown.stdout and "ping" in unknown.stdout  # the known ones
    extra = cli("devices", "cmd", "_agent", "ping", "now", "--json", "--config", cfg)
    assert extra.returncode == 2  # bad usage, as typer's own
    assert json.loads(extra.stdout)["error"]["code"] == "usage"
    assert "take no arguments" in extra.stdout


def test_arguments_that_do_not_fit_the_action_exit_2_as_bad_usage(daemon: Daemon) -> None:
    daemon.start()
    cfg = str(daemon.config)
    wait_for(lambda: daemon.device("screen")["online"])
    extra = cli("devices", "cmd", "screen", "power", "on", "extra", "--config", cfg)
    assert extra.returncode == 2, extra.stdout + extra.stderr  # the documented usage code
    assert "error: too many arguments: 'extra' (takes state)" in extra.stderr
    assert "edge-agent devices show screen" in extra.stderr  # where the actions are listed
    as_json = cli("devices", "cmd", "screen", "power", "on", "extra", "--json", "--config", cfg)
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["code"] == "usage"
    loud = cli("devices", "cmd", "screen", "volume", "loud", "--config", cfg)
    assert loud.returncode == 2 and "valid integer" in loud.stderr, loud.stdout + loud.stderr
    typers_own = cli("devices", "cmd", "screen", "--config", cfg)  # no action at all
    assert typers_own.returncode == 2
    long_action = cli("devices", "cmd", "screen", "x" * 100, "--config", cfg)
    assert long_action.returncode == 2, long_action.stdout + long_action.stderr
    assert "action: String should have at most 64 characters" in long_action.stderr
    huge = cli("devices", "cmd", "screen", "input", "x" * 70_000, "--config", cfg)
    assert huge.returncode == 2, huge.stdout + huge.stderr  # would sit in the audit trail
    assert "arguments too large: 70014 bytes (a command may have at most 65536)" in huge.stderr
    assert daemon.device("screen")["state"].get("power") == "off", "nothing was sent"
    for out in (extra, as_json, loud, typers_own, long_action, huge):
        assert "Traceback" not in out.stdout + out.stderr
    assert "control_handler_failed" not in daemon.log()


def test_cli_says_clearly_when_the_daemon_is_not_running(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, SCREEN)
    out = cli("status", "--config", str(cfg))
    assert out.returncode == 4
    assert "no edge-agent daemon answers" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_a_removed_control_socket_comes_back_and_the_cli_finds_the_daemon_again(
    daemon: Daemon,
) -> None:
    daemon.start()
    sock = Path(daemon.socket)
    sock.unlink()  # a cleanup of /run, or an engineer's `rm`, while the daemon runs
    # (no check that the CLI fails meanwhile: the daemon may already be back when it looks)
    wait_for(lambda: cli("status", "--json", "--socket", daemon.socket).returncode == 0)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
    assert '"control_socket_recreated"' in daemon.log()
    assert daemon.device("screen")["online"]


def test_reload_says_which_changes_wait_for_a_restart(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, SCREEN)
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: all(x["online"] for x in d.status()["devices"]))
        original = cfg.read_text()
        branch = d.status()["agent"]["branch_id"]
        cfg.write_text(original.replace(branch, "b-999") + "store:\n  max_size_mb: 123\n")
        out = cli("reload", "--config", str(cfg))
        assert out.returncode == 0, out.stdout + out.stderr
        said = " ".join(out.stdout.split())
        assert "not applied yet: changes under agent, store need" in said
        wait_for(lambda: "reload_partial" in d.log())
        agent = d.status()["agent"]
        assert agent["branch_id"] == branch, "status shows the identity that is still running"
        assert agent["restart_needed"] == ["agent", "store"]
        again = cli("reload", "--config", str(cfg))
        assert "not applied yet" in again.stdout, "a second reload has not forgotten it"
        cfg.write_text(original)  # the engineer undoes the edit
        undone = cli("reload", "--config", str(cfg))
        assert undone.returncode == 0 and "not applied yet" not in undone.stdout
        assert d.status()["agent"]["restart_needed"] == []
    finally:
        assert d.stop() == 0


def test_reload_of_a_value_of_the_wrong_type_answers_with_the_config_error(
    daemon: Daemon,
) -> None:
    daemon.start()
    good = daemon.config.read_text()
    daemon.config.write_text(good + "cameras: 5\n")  # used to be `internal: TypeError`
    out = cli("reload", "--config", str(daemon.config), "--socket", daemon.socket)
    assert out.returncode == 3, out.stdout + out.stderr
    assert (
        f"{daemon.config}:" in out.stdout and "cameras: Input should be a valid list" in out.stdout
    )
    daemon.config.write_text(good + "uplink: !!timestamp 2020-13-45\n")
    daemon.signal(signal.SIGHUP)
    wait_for(
        lambda: any(
            "reload_rejected" in x and "!!timestamp" in x for x in daemon.log().splitlines()
        )
    )
    assert daemon.status()["devices"][0]["id"] == "screen"  # the old config keeps running


def test_reload_restarts_only_changed_devices_and_rejects_a_bad_file(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path, SCREEN + "  - {id: co2, driver: simulated_sensor, poll_interval_s: 0.5}\n"
    )
    d = Daemon(cfg).start()
    try:
        wait_for(lambda: all(x["online"] for x in d.status()["devices"]))
        screen_since = d.device("screen")["since"]
        cfg.write_text(
            cfg.read_text().replace(
                "{id: co2, driver: simulated_sensor, poll_interval_s: 0.5}",
                "{id: co2, driver: simulated_sensor, poll_interval_s: 0.5, metric: temperature, unit: C}",
            )
            + "  - {id: screen-2, driver: simulated_display}\n"
        )
        out = cli("reload", "--json", "--config", str(cfg))
        assert out.returncode == 0, out.stdout + out.stderr
        result = json.loads(out.stdout)
        assert (
            result["added"] == ["screen-2"]
            and result["changed"] == ["co2"]
            and result["removed"] == []
        )
        assert d.device("screen")["since"] == screen_since  # untouched device kept running
        good = cfg.read_text()
        cfg.write_text(good.replace("driver: simulated_display}", "driver: simulated_dispaly}", 1))
        d.signal(signal.SIGHUP)
        wait_for(lambda: "reload_rejected" in d.log())
        assert "simulated_dispaly" in d.log()
        assert {x["id"] for x in d.status()["devices"]} == {"screen", "co2", "screen-2"}
        half_edited = cli("status", "--json", "--config", str(cfg))  # the socket is still found
        assert half_edited.returncode == 0, half_edited.stderr
        rejected = cli(
            "reload",
            "--config",
            str(cfg.with_name("edge.yaml")),
            "--socket",
            str(tmp_path / "run" / "control.sock"),
        )
        assert rejected.returncode == 3
    finally:
        assert d.stop() == 0


def test_agent_reload_from_the_cli_shows_what_changed_and_exits_3_on_a_rejected_file(
    daemon: Daemon,
) -> None:
    daemon.start()
    cfg = str(daemon.config)
    good = daemon.config.read_text()
    daemon.config.write_text(good.replace("poll_interval_s: 0.5", "poll_interval_s: 0.7"))
    changed = cli("devices", "cmd", "_agent", "reload", "--config", cfg)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "changed=[screen]" in changed.stdout  # not swallowed as rich markup
    daemon.config.write_text(good)
    reloaded = cli("reload", "--config", cfg)
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    said = " ".join(reloaded.stdout.split())
    assert "added none, changed screen, removed none" in said, said  # not ['screen']
    daemon.config.write_text(good + "  - {id: bad, driver: nosuch}\n")
    rejected = cli("devices", "cmd", "_agent", "reload", "--config", cfg)
    assert rejected.returncode == 3, rejected.stdout + rejected.stderr  # as `edge-agent reload`
    assert "unknown driver 'nosuch'" in rejected.stdout
    assert "rejected" in rejected.stdout


def test_the_journal_names_a_serial_port_this_pc_lacks_at_start_and_after_a_reload(
    tmp_path: Path,
) -> None:
    port = tmp_path / "ttyUSB-unplugged"
    meter = (
        "  - {id: meter, driver: modbus, transport: rtu, "
        f"serial_port: {port}, poll_interval_s: 1, units: "
        "[{name: main, unit_id: 1, points: [{name: v, address: 0, function: input}]}]}\n"
    )
    cfg = write_config(tmp_path, SCREEN + meter)
    d = Daemon(cfg).start()
    said = f"devices.1.serial_port: serial port {port} does not exist on this PC"
    try:
        wait_for(lambda: "config_warning" in d.log() and said in d.log())
        assert d.status()["agent"]["branch_id"] == "t-001", "the daemon runs anyway"
        assert cli("reload", "--config", str(cfg)).returncode == 0
        wait_for(lambda: d.log().count(said) == 2)  # the port is still missing after a reload
        port.touch()  # the adapter is plugged in
        assert cli("reload", "--config", str(cfg)).returncode == 0
        wait_for(lambda: "reload_applied" in d.log().split(said)[-1])
        assert d.log().count(said) == 2, "no warning once the port is there"
    finally:
        assert d.stop() == 0


def test_a_damaged_store_says_to_set_it_aside_with_its_wal(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, SCREEN)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "edge-agent.db").write_bytes(b"not a database, just bytes" * 400)
    out = cli("run", "--config", str(cfg))
    said = " ".join(out.stderr.split())
    assert out.returncode == 1, out.stdout + out.stderr
    assert "SQLITE_NOTADB" in said
    assert (  # the -wal holds the newest accepted items: it must go along
        "move edge-agent.db, edge-agent.db-wal and edge-agent.db-shm aside together" in said
    )
    assert "Traceback" not in out.stdout + out.stderr
