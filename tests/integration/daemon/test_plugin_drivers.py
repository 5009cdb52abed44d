"""A driver from another package, found through the `edge_agent.drivers` entry-point group: the
way a vendor or an integrator adds a device type without touching this repository."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, agent_config, cli, demo, interrupt, wait_for
from tests.support.daemon import simulate as start_simulate
from tests.support.net import free_port

RELAY = """\
import asyncio
from typing import Any, ClassVar, Literal, Mapping
from pydantic import BaseModel
from drivers.sdk import Capability, Command, DeviceConfig, DriverContext

class RelayConfig(DeviceConfig):
    driver: Literal["acme_relay"]
    channels: int = 4
    port: int = 0  # where its emulator listens

class Relay:
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POWER})
    config_model: ClassVar[type[DeviceConfig]] = RelayConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {}
    emulator: ClassVar[str | None] = None

    def __init__(self, config: RelayConfig, ctx: DriverContext) -> None:
        self.state = {"power": "off", "channels": config.channels}

    async def start(self) -> None: ...
    async def poll(self) -> Mapping[str, Any]: return dict(self.state)
    async def execute(self, command: Command) -> Mapping[str, Any]:
        self.state["power"] = command.args["state"]
        return dict(self.state)
    async def probe(self) -> Mapping[str, Any]: return {"model": "ACME relay"}
    async def stop(self) -> None: ...

class RelayWithEmulator(Relay):
    emulator: ClassVar[str | None] = "acme_relay_emulator:build"  # not installed

class ChattyRelay(Relay):  # events under its own kind, the daemon's and a built-in driver's
    def __init__(self, config: RelayConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.ctx = ctx

    async def poll(self) -> Mapping[str, Any]:
        for kind in ("acme_relay_tick", "reading", "state", "presence"):
            self.ctx.emit_event(kind, {"channels": self.state["channels"]})
        return dict(self.state)

class NoConfigEmulator:  # the emulator target is called with the device's config
    def __init__(self) -> None: ...

class RelayWithBadEmulator(Relay):
    emulator: ClassVar[str | None] = "acme_relay:NoConfigEmulator"

class FlakyEmulator:  # relay-1's describe() raises, relay-2's stop() does
    def __init__(self, config: RelayConfig) -> None:
        self.id = config.id

    async def start(self) -> None: ...
    def describe(self) -> str:
        if self.id == "relay-1":
            raise KeyError("port")
        return f"ACME relay board {self.id}"

    async def stop(self) -> None:
        if self.id == "relay-2":
            raise RuntimeError("board still latched")
        print(f"{self.id} let go", flush=True)

class RelayWithFlakyEmulator(Relay):
    emulator: ClassVar[str | None] = "acme_relay:FlakyEmulator"

class ListeningEmulator:  # relay-1 listens, then finds no board; relay-2's stop() hangs
    def __init__(self, config: RelayConfig) -> None:
        self.id, self.port = config.id, config.port

    async def start(self) -> None:
        self.server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", self.port)
        if self.id == "relay-1":
            raise RuntimeError("no relay board on the bus")

    def describe(self) -> str:
        return f"ACME relay board {self.id} on {self.port}"

    async def stop(self) -> None:
        if self.id == "relay-2":
            await asyncio.sleep(3600)
        self.server.close()
        print(f"{self.id} let go", flush=True)

class RelayWithListeningEmulator(Relay):
    emulator: ClassVar[str | None] = "acme_relay:ListeningEmulator"

class PlainConfig(DeviceConfig):  # `driver` left a plain str: no Literal
    channels: int = 4

class PlainRelay(Relay):
    config_model: ClassVar[type[DeviceConfig]] = PlainConfig
"""


RELAY_1 = "  - {id: relay-1, driver: acme_relay}\n"


def install_plugin(root: Path, entry_points: str) -> dict[str, str]:
    """An installed distribution as pip leaves one (a module and its dist-info); the environment
    that puts it on the path of the daemon and the CLI."""
    root.mkdir()
    (root / "acme_relay.py").write_text(RELAY)
    (root / "acme_broken.py").write_text('raise RuntimeError("licence server unreachable")\n')
    info = root / "acme_relay-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-relay\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(f"[edge_agent.drivers]\n{entry_points}")
    return {"PYTHONPATH": str(root)}


def test_a_driver_from_another_package_is_configured_run_and_commanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:Relay\n")
    monkeypatch.syspath_prepend(env["PYTHONPATH"])  # the test's own config load sees it too
    cfg = agent_config(tmp_path, "  - {id: relay-1, driver: acme_relay, channels: 8}\n")
    checked = cli("config", "check", str(cfg), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    schema = cli("config", "schema", env=env)
    assert schema.returncode == 0, schema.stderr
    assert "acme_relay" in json.dumps(json.loads(schema.stdout)), "editors complete its keys"
    repo_schema = cli("config", "schema", "--builtin-only", env=env)  # what `make schema` writes
    assert repo_schema.returncode == 0, repo_schema.stderr
    assert json.loads(repo_schema.stdout) == json.loads(
        (Path(__file__).parents[3] / "config" / "schema.json").read_text()
    ), "a plugin installed in the developer's venv does not end up in the repository's schema"
    d = Daemon(cfg, env=env).start()
    try:
        wait_for(lambda: d.device("relay-1")["online"])
        assert d.device("relay-1")["state"] == {"power": "off", "channels": 8}
        out = cli("devices", "cmd", "relay-1", "power", "on", "--json", "--config", str(cfg))
        assert out.returncode == 0, out.stdout + out.stderr
        assert json.loads(out.stdout)["result"]["power"] == "on"
    finally:
        assert d.stop() == 0


def test_a_broken_plugin_is_named_with_its_package_and_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    env = install_plugin(
        tmp_path / "site",
        "acme_broken = acme_broken:Relay\nacme_config = acme_relay:RelayConfig\n"
        "acme_relay = acme_relay:RelayWithEmulator\n",
    )
    cfg = agent_config(
        tmp_path,
        "  - {id: relay-1, driver: acme_broken}\n"
        "  - {id: relay-2, driver: acme_config}\n"
        "  - {id: screen, driver: simulated_display}\n",
    )
    checked = cli("config", "check", str(cfg), env=env)
    assert checked.returncode == 3, checked.stdout + checked.stderr
    said = " ".join((checked.stdout + checked.stderr).split())
    assert (
        f"{cfg}:4:19: devices.0.driver: driver 'acme_broken' (acme-relay 1.2, "
        "acme_broken:Relay) cannot be loaded: RuntimeError: licence server unreachable" in said
    )
    assert (
        f"{cfg}:5:19: devices.1.driver: driver 'acme_config' (acme-relay 1.2, "
        "acme_relay:RelayConfig) is not a driver" in said
    )
    assert "2 problem(s)" in said and "Traceback" not in said
    schema = cli("config", "schema", env=env)
    assert schema.returncode == 0, schema.stderr
    assert "simulated_display" in json.dumps(json.loads(schema.stdout)), "the rest is whole"
    assert "left out: driver 'acme_broken'" in " ".join(schema.stderr.split())
    assert "Traceback" not in schema.stderr
    simulated = cli("simulate", "--config", str(agent_config(tmp_path, RELAY_1)), env=env)
    assert simulated.returncode == 1, simulated.stdout + simulated.stderr
    assert (
        "emulator devices.0 (relay-1, acme_relay) did not start: cannot load "
        "acme_relay_emulator:build: "
        "ModuleNotFoundError" in " ".join(simulated.stderr.split())
    )
    assert "Traceback" not in simulated.stderr


def test_a_plugin_whose_config_model_does_not_pin_its_name_is_refused_by_name_not_a_traceback(
    tmp_path: Path,
) -> None:
    """The schema's device union is discriminated on `driver`: a model that does not pin it
    made `config schema` end in pydantic's traceback, and one pinned to another name (the same
    class under a second entry point) was accepted by `config check` only under that other name,
    with an error that blamed the config."""
    env = install_plugin(
        tmp_path / "site",
        "acme_relay = acme_relay:Relay\nacme_plain = acme_relay:PlainRelay\n"
        "acme_alias = acme_relay:Relay\n",
    )
    cfg = agent_config(
        tmp_path,
        "  - {id: relay-1, driver: acme_plain}\n  - {id: relay-2, driver: acme_alias}\n",
    )
    checked = cli("config", "check", str(cfg), env=env)
    assert checked.returncode == 3, checked.stdout + checked.stderr
    said = " ".join((checked.stdout + checked.stderr).split())
    assert (
        f"{cfg}:4:19: devices.0.driver: driver 'acme_plain' (acme-relay 1.2, "
        "acme_relay:PlainRelay) is not usable under this name: its config_model PlainConfig "
        'pins `driver` to nothing (a plain str); it needs `driver: Literal["acme_plain"]`' in said
    )
    assert (
        f"{cfg}:5:19: devices.1.driver: driver 'acme_alias' (acme-relay 1.2, acme_relay:Relay) "
        "is not usable under this name: its config_model RelayConfig pins `driver` to "
        "'acme_relay'" in said
    )
    schema = cli("config", "schema", env=env)
    assert schema.returncode == 0, schema.stderr
    assert "Traceback" not in schema.stderr
    assert "acme_relay" in json.dumps(json.loads(schema.stdout)), "the usable one is there"
    left_out = " ".join(schema.stderr.split())
    assert "left out: driver 'acme_alias'" in left_out
    assert "left out: driver 'acme_plain'" in left_out


def test_a_plugin_hidden_by_a_built_in_of_the_same_name_is_a_config_check_warning(
    tmp_path: Path,
) -> None:
    env = install_plugin(tmp_path / "site", "simulated_display = acme_relay:Relay\n")
    cfg = agent_config(tmp_path, "  - {id: screen, driver: simulated_display}\n")
    checked = cli("config", "check", str(cfg), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    said = " ".join((checked.stdout + checked.stderr).split())
    assert (
        f"{cfg}:4:18: warning: devices.0.driver: 'simulated_display' is the built-in driver; "
        "the installed plugin of that name (acme-relay 1.2, acme_relay:Relay) is not used" in said
    )
    assert "1 warning(s)" in said


def test_a_plugins_event_under_the_daemons_or_a_built_in_drivers_kind_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`events/reading` and `events/state` are the daemon's, `events/presence` the beacon
    driver's: HQ reads each with its schema, so a plugin's event there was a malformed record."""
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:ChattyRelay\n")
    monkeypatch.syspath_prepend(env["PYTHONPATH"])
    cfg = agent_config(tmp_path, "  - {id: relay-1, driver: acme_relay, poll_interval_s: 0.2}\n")
    d = Daemon(cfg, env=env).start()
    try:
        wait_for(lambda: "acme_relay_tick" in cli("events", "tail", "--config", str(cfg)).stdout)
        tail = cli("events", "tail", "-n", "200", "--json", "--config", str(cfg))
        kinds = {json.loads(line)["kind"] for line in tail.stdout.splitlines()}
        assert kinds == {"acme_relay_tick", "state"}, tail.stdout
        state_events = [
            json.loads(line)["data"]
            for line in tail.stdout.splitlines()
            if json.loads(line)["kind"] == "state"
        ]
        assert all("online" in data for data in state_events), "only the daemon's own"
    finally:
        assert d.stop() == 0
    refused = [json.loads(line) for line in d.log().splitlines() if '"event_refused"' in line]
    assert sorted(r["kind"] for r in refused) == ["presence", "reading", "state"], "once each"


def test_a_plugin_emulator_that_raises_is_that_devices_failure_not_a_traceback(
    tmp_path: Path,
) -> None:
    # Before, only a DriverError or an OSError was caught: a TypeError ended `simulate` with a
    # traceback and no other device's emulator was served.
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:RelayWithBadEmulator\n")
    simulated = cli("simulate", "--config", str(agent_config(tmp_path, RELAY_1)), env=env)
    assert simulated.returncode == 1, simulated.stdout + simulated.stderr
    said = " ".join(simulated.stderr.split())
    assert (
        "emulator devices.0 (relay-1, acme_relay) did not start: "
        "acme_relay:NoConfigEmulator: TypeError: "
        "NoConfigEmulator.__init__() takes 1 positional argument but 2 were given" in said
    )
    assert "Traceback" not in simulated.stderr


def test_a_plugin_emulator_whose_describe_or_stop_raises_is_named_and_the_others_are_served(
    tmp_path: Path,
) -> None:
    # Before, describe() raising ended `simulate` with a traceback before any emulator was
    # listed, and stop() raising did so at Ctrl-C, leaving the emulators after it running.
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:RelayWithFlakyEmulator\n")
    relays = "".join(f"  - {{id: relay-{i}, driver: acme_relay}}\n" for i in (1, 2, 3))
    cfg = agent_config(tmp_path, relays)
    out, err = tmp_path / "simulate.out", tmp_path / "simulate.err"
    simulate = start_simulate(cfg, out, err, env)
    try:
        wait_for(lambda: "board relay-3" in out.read_text() or simulate.poll() is not None)
        simulate.send_signal(signal.SIGINT)
        code = simulate.wait(timeout=15)
    finally:
        if simulate.poll() is None:
            simulate.kill()
            simulate.wait()
    listed = " ".join(out.read_text().split())
    said = " ".join(err.read_text().split())
    assert code == 1, listed + said
    assert "relay-1 │ describe failed: acme_relay:FlakyEmulator: KeyError: 'port'" in listed
    assert "relay-2 │ ACME relay board relay-2" in listed
    assert "relay-3 │ ACME relay board relay-3" in listed
    assert (
        "emulator relay-2 did not stop: acme_relay:FlakyEmulator: RuntimeError: "
        "board still latched" in said
    )
    assert "relay-1 let go" in listed and "relay-3 let go" in listed, "the others are stopped"
    assert "Traceback" not in said


def test_an_emulator_that_fails_part_way_through_start_lets_go_and_a_hung_stop_is_named(
    tmp_path: Path,
) -> None:
    # Before, relay-1's half-started emulator kept its port while simulate ran, and Ctrl-C
    # waited for relay-2's stop() for ever, leaving relay-3 running.
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:RelayWithListeningEmulator\n")
    ports = {i: free_port() for i in (1, 2, 3)}
    relays = "".join(
        f"  - {{id: relay-{i}, driver: acme_relay, port: {port}}}\n" for i, port in ports.items()
    )
    cfg = agent_config(tmp_path, relays)
    out, err = tmp_path / "simulate.out", tmp_path / "simulate.err"
    simulate = start_simulate(cfg, out, err, env)
    try:
        wait_for(lambda: "board relay-3" in out.read_text() or simulate.poll() is not None)
        assert simulate.poll() is None, err.read_text()
        assert "relay-1 let go" in out.read_text()
        with pytest.raises(ConnectionRefusedError):  # nothing of relay-1 is left listening
            socket.create_connection(("127.0.0.1", ports[1]), timeout=5).close()
        socket.create_connection(("127.0.0.1", ports[3]), timeout=5).close()  # relay-3 serves
    finally:
        code = interrupt(simulate, timeout=30)  # relay-2's stop() is given 10 s
    said = " ".join(err.read_text().split())
    assert code == 1, said
    assert (
        "emulator devices.0 (relay-1, acme_relay) did not start: acme_relay:ListeningEmulator: "
        "RuntimeError: no relay board on the bus" in said
    )
    assert (
        "emulator relay-2 did not stop: acme_relay:ListeningEmulator: stop() did not return "
        "within 10 s" in said
    )
    assert "relay-3 let go" in out.read_text(), "the ones after it are stopped"
    assert said.endswith(
        "1 emulator(s) did not stop cleanly: relay-2 (the errors are above; a port or serial "
        "path they held may still be taken)"
    )
    assert "Traceback" not in said


def test_a_demo_whose_emulator_does_not_stop_ends_with_exit_1_naming_it(tmp_path: Path) -> None:
    # Before, `make demo` said its emulator's error and exited 0, as if all had gone well.
    env = install_plugin(tmp_path / "site", "acme_relay = acme_relay:RelayWithFlakyEmulator\n")
    relays = "".join(f"  - {{id: relay-{i}, driver: acme_relay}}\n" for i in (1, 2, 3))
    cfg = agent_config(tmp_path, relays)
    log = tmp_path / "demo.out"
    proc = demo(cfg, log, env)
    try:
        wait_for(lambda: "Stop with Ctrl-C" in log.read_text() or proc.poll() is not None)
        wait_for(  # the agent is up: its control socket answers
            lambda: (
                cli("status", "--config", str(cfg), env=env).returncode == 0
                or proc.poll() is not None
            )
        )
        assert proc.poll() is None, log.read_text()
    finally:
        code = interrupt(proc, timeout=30)
    text = log.read_text()
    said = " ".join(text.split())
    assert code == 1, text[-3000:]
    assert (
        "emulator relay-2 did not stop: acme_relay:FlakyEmulator: RuntimeError: "
        "board still latched" in said
    )
    assert "relay-1 let go" in text and "relay-3 let go" in text, "the others are stopped"
    assert text.strip().splitlines()[-1].startswith("1 emulator(s) did not stop cleanly: relay-2")
    assert "Traceback" not in text
