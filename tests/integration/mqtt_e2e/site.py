"""A branch daemon against a real mosquitto, watched the way HQ would: third-party clients only.

`Watch` is a `mosquitto_sub` process (Eclipse's own client, not our code) whose output is read
back; `pub` is `mosquitto_pub`. What the daemon stored is read straight from its SQLite file,
read-only, like an auditor would.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.uplink.hq import validate_message
from tests.support.daemon import Daemon, cli
from tests.support.mosquitto import AGENT_PASSWORD, AGENT_USER, HQ_PASSWORD, HQ_USER, Mosquitto

ROOT = "edge/v1/wf-001/ipc-1"
KEEPALIVE_S = 5


def write_config(
    tmp_path: Path,
    port: int,
    devices: str,
    *,
    sync: str = "{}",
    keepalive: int = KEEPALIVE_S,
    ca_file: Path | None = None,
) -> Path:
    """A daemon config under `tmp_path` whose uplink points at the test's broker (over TLS,
    trusting `ca_file`, when it is given)."""
    (tmp_path / "mqtt.pw").write_text(AGENT_PASSWORD + "\n")
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        "agent: {branch_id: wf-001, agent_id: ipc-1, data_dir: ./data, "
        "control_socket: ./run/control.sock}\n"
        "uplink:\n"
        f"  mqtt: {{host: 127.0.0.1, port: {port}, username: {AGENT_USER}, "
        f"password_file: mqtt.pw, keepalive_s: {keepalive}"
        + (f", tls: {{ca_file: {ca_file}}}" if ca_file else "")
        + "}\n"
        f"  sync: {sync}\n"
        f"devices:\n{devices}"
    )
    return cfg


def deny_agent(broker: Mosquitto, topic: str) -> None:
    """Restart the broker with an ACL that refuses the agent's publishes on `topic`."""
    (broker.root / "acl").write_text(
        f"user {AGENT_USER}\ntopic deny {topic}\ntopic readwrite edge/#\n\n"
        f"user {HQ_USER}\ntopic readwrite edge/#\n"
    )
    broker.stop()
    broker.start()


def _auth(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-p", str(port), "-u", HQ_USER, "-P", HQ_PASSWORD]


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Watch:
    """A long-running `mosquitto_sub -F %j` on `topic`; every line it printed, parsed."""

    def __init__(self, port: int, topic: str, out: Path) -> None:
        self._out = out
        self._file = out.open("wb")
        self._proc = subprocess.Popen(
            ["mosquitto_sub", *_auth(port), "-q", "1", "-t", topic, "-F", "%j"],
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    def seen(self) -> list[Seen]:
        out: list[Seen] = []
        for line in self._out.read_text(errors="replace").splitlines():
            try:
                raw = json.loads(line)
            except ValueError:
                continue  # a line mosquitto_sub is still writing
            payload = (raw.get("payload") or "").encode()
            out.append(Seen(raw["topic"], payload, bool(raw.get("retain"))))
        return out

    def wait_for(self, pred: Callable[[list[Seen]], bool], timeout: float = 15) -> list[Seen]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.seen()
            if pred(snap):
                return snap
            time.sleep(0.05)
        raise AssertionError(f"mosquitto_sub did not see it within {timeout} s: {self.seen()}")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._file.close()


def retained(port: int, topic: str) -> Any:
    """The retained message a brand-new `mosquitto_sub` gets on `topic`, parsed (None if none)."""
    out = subprocess.run(
        ["mosquitto_sub", *_auth(port), "-t", topic, "-C", "1", "-W", "3", "--retained-only"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    text = out.stdout.strip()
    return json.loads(text) if text else None


def pub(port: int, topic: str, payload: dict[str, Any] | None, *, retain: bool = False) -> None:
    """`mosquitto_pub` QoS 1; `payload=None` with `retain` clears the topic's retained message."""
    body = ["-n"] if payload is None else ["-m", json.dumps(payload)]
    subprocess.run(
        ["mosquitto_pub", *_auth(port), "-q", "1", *(["-r"] if retain else []), "-t", topic, *body],
        check=True,
        capture_output=True,
        timeout=10,
    )


def validate(seen: list[Seen]) -> int:
    """Check each payload against docs/schemas by topic; return how many were ours to check."""
    return sum(validate_message(m.topic, m.payload) for m in seen)


def ctl(daemon: Daemon, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """`edge-agent ARGS --socket S`, as an engineer types it."""
    return cli(*args, "--socket", daemon.socket, timeout=timeout)


def sync_status(daemon: Daemon) -> dict[str, Any]:
    out = ctl(daemon, "sync", "status", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    return dict(json.loads(out.stdout))


def database(cfg: Path) -> sqlite3.Connection:
    """The daemon's SQLite file, opened read-only."""
    db = cfg.parent / "data" / "edge-agent.db"
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def log_events(daemon: Daemon) -> list[dict[str, Any]]:
    """The daemon's JSON log lines (it logs JSON when stdout is not a TTY)."""
    out: list[dict[str, Any]] = []
    for line in daemon.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out
