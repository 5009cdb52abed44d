"""Loopback helpers for tests: free ports and socat pty pairs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def pty_pair(tmp: Path, name: str = "tty") -> Iterator[tuple[str, str]]:
    """Two linked pseudo-terminals from socat: (device side, host side).

    The emulator opens the first, the driver the second; bytes written to one arrive at the other,
    as on a null-modem RS-232 cable.
    """
    socat = shutil.which("socat")
    if socat is None:
        raise RuntimeError("socat is not installed; `make test` installs it")
    a, b = tmp / f"{name}-dev", tmp / f"{name}-host"
    proc = subprocess.Popen(
        [socat, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.02)
        yield os.fspath(a), os.fspath(b)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
