"""`edge-agent simulate`: start an emulator for every device in a config, to rehearse without hardware."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from drivers import registry
from drivers.sdk import DriverError

from .common import ConfigOption, load_or_exit
from .output import console, err_console, table


async def start_emulators(config: Path) -> list[tuple[str, Any]]:
    """Start what the config's devices need; returns (device id, emulator) pairs."""
    settings = load_or_exit(config)
    started: list[tuple[str, Any]] = []
    for device in settings.devices:
        target = registry.load(str(device.driver)).emulator
        if target is None:
            continue
        try:  # one emulator that cannot start must not stop the rest
            emulator = registry.import_string(target)(device)
            await emulator.start()
        except (DriverError, OSError) as exc:
            err_console.print(f"[red]emulator {device.id} did not start:[/] {exc}")
            continue
        started.append((device.id, emulator))
    return started


def simulate(config: Path = ConfigOption) -> None:
    """Serve each configured device's protocol on the address the config gives it, until Ctrl-C."""

    async def go() -> None:
        emulators = await start_emulators(config)
        console.print(
            table("emulators", ["device", "listening"], [[i, e.describe()] for i, e in emulators])
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        for _, emulator in emulators:
            await emulator.stop()

    asyncio.run(go())
