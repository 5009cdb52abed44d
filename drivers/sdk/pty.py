"""A socat pseudo-terminal pair: a virtual serial cable for emulators, the demo and tests.

Serial drivers (RS-232 MDC, RS-485 Modbus) open a port path from their config. An emulator
stands behind that path by linking one end of a socat pty pair there and opening the other end
itself, so the driver under test cannot tell it from a USB adapter with a device on the cable.

Kept free of `-d0` and other socat >= 1.8 options so it runs on Debian 12's socat 1.7.4.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import PortInUse, Unreachable

#: Where socat's pty links point; a dangling link there is left over from a killed socat.
_PTY_DIR = "/dev/pts/"


class PtyPair:
    """Two linked ptys: `host_path` for the driver, `device_path` for the emulator.

    Like a null-modem cable, bytes written at one end arrive at the other. `host_path` is the
    path the device config names (e.g. /tmp/ttyMDC0); `device_path` lives in a private temp dir
    made by `start()`. Every failure is a typed driver error: PortInUse when `host_path` is taken,
    Unreachable when socat is missing or cannot make the pair.
    """

    def __init__(self, host_path: str | os.PathLike[str], *, name: str = "device") -> None:
        self.host_path = Path(host_path)
        self._name = name
        self._tmp: Path | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._host_target: str | None = None

    @property
    def device_path(self) -> Path:
        """The emulator's end; only valid between `start()` and `stop()`."""
        if self._tmp is None:
            raise Unreachable(f"the pty pair for {self.host_path} is not started")
        return self._tmp / self._name

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, wait_s: float = 5.0) -> None:
        """Start socat and wait (at most `wait_s`) until both links exist."""
        if self._proc is not None:
            return
        socat = shutil.which("socat")
        if socat is None:
            raise Unreachable(
                f"socat is not installed, so no serial port can be emulated at {self.host_path} "
                "(apt-get install socat)"
            )
        self._claim_host_path()
        self._tmp = Path(tempfile.mkdtemp(prefix="edge-agent-pty-"))
        try:
            await self._spawn(socat, wait_s)
        except BaseException:  # typed errors and cancellation alike must not leave socat running
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop socat and remove both ends. Never raises; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(3.0):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._remove_own_link()
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def _claim_host_path(self) -> None:
        """Refuse a taken path (socat would silently replace it); clear a stale link of ours."""
        path = self.host_path
        if path.is_symlink() and not path.exists():
            target = os.readlink(path)
            if target.startswith(_PTY_DIR):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        if os.path.lexists(path):
            raise PortInUse(
                f"serial port path {path} already exists (another emulator or a real device?); "
                "pick a free path for the port"
            )
        if not path.parent.is_dir():
            raise Unreachable(f"cannot link a serial port at {path}: {path.parent} is no directory")

    async def _spawn(self, socat: str, wait_s: float) -> None:
        assert self._tmp is not None
        device, log = self._tmp / self._name, self._tmp / "socat.log"
        with log.open("wb") as stderr:
            self._proc = await asyncio.create_subprocess_exec(
                socat,
                f"pty,raw,echo=0,link={device}",
                f"pty,raw,echo=0,link={self.host_path}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not (device.exists() and self.host_path.exists()):
            if self._proc.returncode is not None or loop.time() > deadline:
                raise Unreachable(
                    f"socat did not create a pty pair at {self.host_path}: {_last_error(log)}"
                )
            await asyncio.sleep(0.02)
        self._host_target = os.readlink(self.host_path)

    def _remove_own_link(self) -> None:
        """socat unlinks on SIGTERM, not on SIGKILL; drop the host link only if it is still ours."""
        target, self._host_target = self._host_target, None
        if target is None:
            return
        with contextlib.suppress(OSError):
            if os.readlink(self.host_path) == target:
                self.host_path.unlink()


def _last_error(log: Path) -> str:
    """socat's last error line ("E symlink(...): Permission denied"), or why there is none."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if " E " in line]
    if errors:
        return errors[-1].split(" E ", 1)[1]
    return lines[-1] if lines else "no error reported (timed out)"
