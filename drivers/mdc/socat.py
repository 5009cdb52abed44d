"""A socat pty pair, so an emulated RS-232 display can appear at a configured port path."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time

from ..sdk import Unreachable


class PtyPair:
    """Two linked pseudo-terminals: `host_path` for the driver, `device_path` for the emulator.

    Like a null-modem cable: bytes written at one end arrive at the other. The host end is a
    symlink at the path the device config names (e.g. /tmp/ttyMDC0).
    """

    def __init__(self, host_path: str) -> None:
        self.host_path = host_path
        self._tmp = tempfile.mkdtemp(prefix="mdc-pty-")
        self.device_path = os.path.join(self._tmp, "display")
        self._proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, wait_s: float) -> None:
        socat = shutil.which("socat")
        if socat is None:
            raise Unreachable("socat is not installed; install it to emulate an RS-232 display")
        if os.path.lexists(self.host_path):
            raise Unreachable(f"{self.host_path} already exists; pick a free path for the port")
        argv = [socat, f"pty,raw,echo=0,link={self.device_path}"]
        argv.append(f"pty,raw,echo=0,link={self.host_path}")
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - fixed argv, no user input
        self._proc = proc
        deadline = time.monotonic() + wait_s
        while not (os.path.exists(self.device_path) and os.path.exists(self.host_path)):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise Unreachable(f"socat did not create the pty pair at {self.host_path}")
            time.sleep(0.02)

    async def start(self, wait_s: float = 5.0) -> None:
        """Start socat and wait until both pty links exist."""
        try:
            await asyncio.to_thread(self._spawn, wait_s)
        except Unreachable:
            await self.stop()
            raise

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 3)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        shutil.rmtree(self._tmp, ignore_errors=True)
