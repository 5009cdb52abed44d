"""Run the real daemon as a child process and talk to it the way an engineer would: the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "edge_agent"]


def cli(
    *args: str, timeout: float = 20, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`edge-agent ARGS` from the checkout; `env` adds to this process's environment."""
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def simulate(
    config: Path, out: Path, err: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`edge-agent simulate` in the background, its stdout and stderr going to `out` and `err`;
    `env` adds to this process's environment. The caller stops it (SIGINT, as Ctrl-C does)."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        return subprocess.Popen(
            [*CLI, "simulate", "--config", str(config)],
            stdout=stdout,
            stderr=stderr,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )


def demo(config: Path, out: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`make demo`'s own command on another config, its stdout and stderr both going to `out`;
    `env` adds to this process's environment."""
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "edge_agent.demo", str(config)],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )


def interrupt(proc: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """Ctrl-C (SIGINT) unless it has ended, and its exit code; killed if still running after
    `timeout` s (then the wait's TimeoutExpired fails the test)."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Daemon:
    """`edge-agent run` in a subprocess, with its log captured to a file."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = config.with_suffix(".log")
        from edge_agent.settings.loader import load

        # Resolved once, so the CLI still finds the daemon after a test breaks the config file.
        self.socket = str(load(config, environ={}).agent.control_socket)

    def start(self, wait: float = 15) -> Daemon:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*CLI, "run", "--config", str(self.config)],
            stdout=log,
            stderr=log,
            env=self.env,
            cwd=REPO,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}:\n{self.log()}")
            if cli("status", "--json", "--socket", self.socket).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"daemon did not answer within {wait} s:\n{self.log()}")

    def status(self) -> dict[str, Any]:
        out = cli("status", "--json", "--socket", self.socket)
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout))

    def device(self, device_id: str) -> dict[str, Any]:
        out = cli("devices", "show", device_id, "--json", "--socket", self.socket)
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout))

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def agent_config(tmp_path: Path, devices: str) -> Path:
    """`tmp_path/edge.yaml`: a branch with the uplink off and these `devices:` lines (YAML)."""
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        "agent: {branch_id: t-001, agent_id: ipc-1, data_dir: ./data, "
        "control_socket: ./run/control.sock}\n"
        "uplink: {enabled: false}\n"
        f"devices:\n{devices}"
    )
    return cfg


def wait_for(predicate: Any, timeout: float = 15, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; bounded in time."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last: {last!r})")
