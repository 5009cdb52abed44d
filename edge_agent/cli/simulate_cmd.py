"""`edge-agent simulate`: start an emulator for every device in a config, to rehearse without hardware."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from drivers import registry
from drivers.sdk import DriverError

from .common import ConfigOption, load_or_exit
from .output import Exit, console, err_console, table

#: How long one emulator's stop() may take (a socat or BlueZ stand-in ends within 6 s).
STOP_TIMEOUT_S = 10.0


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


@dataclass(frozen=True)
class NotStarted:
    """A configured device whose emulator did not start, and why."""

    device_id: str
    #: Where the config has it, as config errors say it: `devices.3 (lobby-projector, pjlink)`.
    name: str
    why: str


async def start_emulators(
    config: Path, failed: list[NotStarted] | None = None
) -> list[tuple[str, Any]]:
    """Start what the config's devices need; returns (device id, emulator) pairs. Each one that
    cannot start is stopped (what it had opened is let go), said on stderr and, given `failed`,
    added to it."""
    settings = load_or_exit(config)
    started: list[tuple[str, Any]] = []
    for index, device in enumerate(settings.devices):
        target = registry.load(str(device.driver)).emulator
        if target is None:
            continue
        emulator: Any = None
        try:  # one emulator that cannot start must not stop the rest
            emulator = _emulator_class(target)(device)
            await emulator.start()
        except Exception as exc:  # noqa: BLE001 - any error there means this one is unusable
            # A typed error names the port or path; anything else (a plugin's bug, or ours, as a
            # serial path the OS refuses) is named with the code it came from, not a traceback.
            why = _why(exc, target)
            if emulator is not None:  # a start that failed part-way may hold a port or a child
                unstopped = await _stop_one(emulator)
                why += f"; stopping it failed too: {unstopped}" if unstopped else ""
        else:
            started.append((device.id, emulator))
            continue
        gone = NotStarted(device.id, f"devices.{index} ({device.id}, {device.driver})", why)
        err_console.print(
            f"[red]emulator {escape(gone.name)} did not start:[/] {escape(why)}",
            highlight=False,
        )
        if failed is not None:
            failed.append(gone)
    return started


def not_run_line(failed: list[NotStarted]) -> str:
    """Which emulators never ran, by where the config has them, for a closing line."""
    return ", ".join(f.name for f in failed) + " (the errors are above)"


def describe(emulator: Any) -> str | Text:
    """The emulator's own line, or why it has none: it serves all the same."""
    try:
        return str(emulator.describe())
    except Exception as exc:  # noqa: BLE001 - a plugin's code: the other rows must still print
        return Text.assemble(("describe failed", "red"), f": {_why(exc, _where(emulator))}")


async def _stop_one(emulator: Any) -> str | None:
    """Stop one emulator, bounded in time; why it did not stop cleanly, or None."""
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await emulator.stop()
    except TimeoutError:
        return f"{_where(emulator)}: stop() did not return within {STOP_TIMEOUT_S:g} s"
    except Exception as exc:  # noqa: BLE001 - a plugin's code: stop the others all the same
        return _why(exc, _where(emulator))
    return None


async def stop_emulators(emulators: list[tuple[str, Any]]) -> list[str]:
    """Stop each one, even after another failed to or hung; each failure is said on stderr.
    Returns the ids of the devices whose emulator did not stop cleanly."""
    unstopped: list[str] = []
    for device_id, emulator in emulators:
        why = await _stop_one(emulator)
        if why is not None:
            err_console.print(
                f"[red]emulator {escape(device_id)} did not stop:[/] {escape(why)}",
                highlight=False,
            )
            unstopped.append(device_id)
    return unstopped


def not_stopped_line(unstopped: list[str]) -> str:
    """Which emulators did not stop cleanly, for a closing line: what they held may be held."""
    return (
        f"{len(unstopped)} emulator(s) did not stop cleanly: {', '.join(unstopped)} "
        "(the errors are above; a port or serial path they held may still be taken)"
    )


def simulate(config: Path = ConfigOption) -> None:
    """Serve each configured device's protocol on the address the config gives it, until Ctrl-C.

    Exit codes:
    0  every emulator started, served and stopped cleanly.
    1  an emulator did not start (a taken port or serial path, no socat):
       the others are served until Ctrl-C, then the last line names the
       ones that never ran; if none could start, it exits at once.
       Also when an emulator did not stop cleanly (its stop() failed, or
       took over 10 s): the last line names it.
    3  the config is invalid.
    """

    async def go() -> int:
        # Ctrl-C or SIGTERM while the emulators start (a BlueZ stand-in takes seconds) is taken
        # now and acted on once they have all started, so none is left running without us.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        failed: list[NotStarted] = []
        emulators = await start_emulators(config, failed)
        total = len(emulators) + len(failed)
        rows: list[list[Any]] = [[i, describe(e)] for i, e in emulators]
        rows += [
            [f.device_id, Text.assemble(("did not start", "red"), f": {f.why}")] for f in failed
        ]
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
            _last_line(
                f"no emulator could start: {not_run_line(failed)}"
                if failed
                else "no emulator is running: no device in this config has one"
            )
            return int(Exit.FAILED)
        await stop.wait()
        unstopped = await stop_emulators(emulators)
        if failed:
            _last_line(
                f"stopped; {len(failed)} of {total} emulators never ran: {not_run_line(failed)}"
            )
        if unstopped:
            _last_line(not_stopped_line(unstopped))
        return int(Exit.FAILED) if failed or unstopped else int(Exit.OK)

    code = asyncio.run(go())
    if code:
        raise typer.Exit(code)


def _last_line(text: str) -> None:
    err_console.print(f"[red]{escape(text)}[/]", highlight=False, soft_wrap=True)
