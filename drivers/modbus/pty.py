"""A socat pseudo-terminal pair: a virtual RS-485 cable for the emulator, the demo and tests.

Kept free of `-d0` and other socat >= 1.8 options so it runs on Debian 12's socat 1.7.4.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path


class PtyPair:
    """Two linked ptys; bytes written to one arrive at the other, as on a null-modem cable."""

    def __init__(self, device_path: str | Path, host_path: str | Path) -> None:
        self.device_path = Path(device_path)
        self.host_path = Path(host_path)
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, wait_s: float = 5.0) -> None:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed (apt-get install socat)")
        self._proc = await asyncio.create_subprocess_exec(
            socat,
            f"pty,raw,echo=0,link={self.device_path}",
            f"pty,raw,echo=0,link={self.host_path}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(max(1, int(wait_s / 0.02))):
            if self.device_path.exists() and self.host_path.exists():
                return
            if self._proc.returncode is not None:
                break
            await asyncio.sleep(0.02)
        await self.stop()
        raise RuntimeError(f"socat did not create the pty pair at {self.host_path}")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except TimeoutError:
            proc.kill()
            await proc.wait()
