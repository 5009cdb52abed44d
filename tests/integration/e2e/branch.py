"""A branch on loopback: the device emulators the daemon's real drivers talk to, and its config.

The emulators run on their own event loop in a background thread. The test thread makes blocking
CLI calls (each one a fresh `edge-agent` process, as an engineer would type it); were the
emulators on the test's own loop, every such call would freeze them and the daemon would see
timeouts that no real branch has.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from drivers import registry
from drivers.sdk import DeviceConfig
from edge_agent.settings.loader import load
from tests.support.daemon import Daemon, cli

T = TypeVar("T")


class EmulatorHost:
    """Starts, stops and pokes emulators built from the daemon's own device configs."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="e2e-emulators", daemon=True
        )
        self._thread.start()
        self.emulators: dict[str, Any] = {}

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        """Run `coro` on the emulators' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the emulators' loop (emulator state is not thread-safe)."""

        async def go() -> T:
            return fn()

        return self.run(go())

    def start(self, config: DeviceConfig, adjust: Callable[[Any], None] | None = None) -> Any:
        """Build the driver's emulator from `config` exactly as `edge-agent simulate` does."""
        target = registry.load(str(config.driver)).emulator
        assert target is not None, f"driver {config.driver} ships no emulator"
        emulator = registry.import_string(target)(config)
        if adjust is not None:
            adjust(emulator)
        self.run(emulator.start())
        self.emulators[config.id] = emulator
        return emulator

    def stop(self, device_id: str) -> None:
        emulator = self.emulators.pop(device_id)
        self.run(emulator.stop())

    def close(self) -> None:
        for device_id in list(self.emulators):
            try:
                self.stop(device_id)
            except Exception as exc:  # one stuck emulator must not leak the others
                print(f"emulator {device_id} did not stop cleanly: {exc!r}")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def write_config(tmp_path: Path, devices: str, *, log_level: str = "info") -> Path:
    """A daemon config under `tmp_path`: no uplink (MQTT end-to-end is tested elsewhere)."""
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        "agent: {branch_id: e2e-001, agent_id: ipc-1, data_dir: ./data, "
        f"control_socket: ./run/control.sock, log_level: {log_level}}}\n"
        "uplink: {enabled: false}\n"
        f"devices:\n{devices}"
    )
    return cfg


@contextmanager
def running_branch(
    cfg: Path, adjust: Mapping[str, Callable[[Any], None]] | None = None
) -> Iterator[tuple[Daemon, EmulatorHost]]:
    """Every configured device's emulator, then the daemon; torn down in reverse."""
    settings = load(cfg, environ={})
    host = EmulatorHost()
    daemon = Daemon(cfg)
    try:
        for device in settings.devices:
            if registry.load(str(device.driver)).emulator is not None:
                host.start(device, (adjust or {}).get(device.id))
        daemon.start()
        yield daemon, host
    finally:
        daemon.stop()
        host.close()


def device_config(cfg: Path, device_id: str) -> DeviceConfig:
    found = load(cfg, environ={}).device(device_id)
    assert found is not None, device_id
    return found


def command(daemon: Daemon, device_id: str, *words: str) -> dict[str, Any]:
    """`edge-agent devices cmd ID ACTION ARGS --json`, parsed; the exit code must match `ok`."""
    out = cli("devices", "cmd", device_id, *words, "--json", "--socket", daemon.socket, timeout=40)
    result = dict(json.loads(out.stdout))
    assert (out.returncode == 0) == bool(result.get("ok")), (out.returncode, out.stdout)
    return result


def probe(daemon: Daemon, device_id: str, *, as_json: bool = True) -> Any:
    """`edge-agent devices probe ID`: the parsed JSON, or the table text when `as_json` is off."""
    args = ["devices", "probe", device_id, "--socket", daemon.socket]
    out = cli(*args, *(["--json"] if as_json else []), timeout=40)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout) if as_json else out.stdout


def reading_count(cfg: Path, device_id: str) -> int:
    """Readings the daemon's store has accepted from one device (read-only, like an auditor)."""
    db = cfg.parent / "data" / "edge-agent.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE device = ? AND kind = 'reading'", (device_id,)
        ).fetchone()
    return int(row[0])
