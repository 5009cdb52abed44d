"""`edge-agent simulate`: start an emulator for every device in a config, to rehearse without hardware."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from drivers import registry
from drivers.sdk import DriverError

from .common import ConfigOption, load_or_exit
from .output import console, err_console, table


def _emulator_class(target: str) -> Any:
    """The emulator's class; a plugin's module that fails to import is a DriverError here."""
    try:
        return registry.import_string(target)
    except Exception as exc:  # third-party code: any error there means unusable
        raise DriverError(f"cannot load {target}: {type(exc).__name__}: {exc}") from exc


def _why(exc: Exception, where: str) -> str:
    """A typed error says enough; anything else is named with the code it came from."""
    if isinstance(exc, (DriverError, OSError)):
        return str(exc)
    return f"{where}: {type(exc).__name__}: {exc}"


def _where(emulator: Any) -> str:
    return f"{type(emulator).__module__}:{type(emulator).__qualname__}"


async def start_emulators(
    config: Path, failed: list[tuple[str, str]] | None = None
) -> list[tuple[str, Any]]:
    """Start what the config's devices need; returns (device id, emulator) pairs. Each one that
    cannot start is said on stderr and, given `failed`, added to it as (device id, why)."""
    settings = load_or_exit(config)
    started: list[tuple[str, Any]] = []
    for device in settings.devices:
        target = registry.load(str(device.driver)).emulator
        if target is None:
            continue
        # A plugin's emulator is third-party code: any error in it means that one is unusable.
        plugin = str(device.driver) not in registry.BUILTIN
        try:  # one emulator that cannot start must not stop the rest
            emulator = _emulator_class(target)(device)
            await emulator.start()
        except Exception as exc:
            if not plugin and not isinstance(exc, (DriverError, OSError)):
                raise
            why = _why(exc, target)
        else:
            started.append((device.id, emulator))
            continue
        err_console.print(f"[red]emulator {escape(device.id)} did not start:[/] {escape(why)}")
        if failed is not None:
            failed.append((device.id, why))
    return started


def describe(emulator: Any) -> str | Text:
    """The emulator's own line, or why it has none: it serves all the same."""
    try:
        return str(emulator.describe())
    except Exception as exc:  # noqa: BLE001 - a plugin's code: the other rows must still print
        return Text.assemble(("describe failed", "red"), f": {_why(exc, _where(emulator))}")


async def stop_emulators(emulators: list[tuple[str, Any]]) -> int:
    """Stop each one, even after another failed to; each failure is said on stderr. Returns how
    many failed."""
    failures = 0
    for device_id, emulator in emulators:
        try:
            await emulator.stop()
        except Exception as exc:  # noqa: BLE001 - a plugin's code: stop the others all the same
            why = _why(exc, _where(emulator))
            err_console.print(f"[red]emulator {escape(device_id)} did not stop:[/] {escape(why)}")
            failures += 1
    return failures


def simulate(config: Path = ConfigOption) -> None:
    """Serve each configured device's protocol on the address the config gives it, until Ctrl-C."""

    async def go() -> int:
        failed: list[tuple[str, str]] = []
        emulators = await start_emulators(config, failed)
        rows: list[list[Any]] = [[i, describe(e)] for i, e in emulators]
        rows += [[i, Text.assemble(("did not start", "red"), f": {why}")] for i, why in failed]
        console.print(table("emulators", ["device", "listening"], rows))
        for device_id, emulator in emulators:
            bus = getattr(emulator, "bus_address", "")
            if bus:  # a BlueZ stand-in: the agent must look for BlueZ on its private bus
                console.print(
                    f"run the agent with DBUS_SYSTEM_BUS_ADDRESS={bus} to see {device_id}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        if not emulators:
            err_console.print(
                "[red]no emulator is running[/]: "
                + ("fix the errors above" if failed else "no device in this config has one")
            )
            return 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 1 if await stop_emulators(emulators) else 0

    code = asyncio.run(go())
    if code:
        raise typer.Exit(code)
