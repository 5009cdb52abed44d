"""`make demo`: a simulated branch in one process — emulated devices on loopback, the real agent.

The devices are emulators that speak their real wire protocols (PJLink, Samsung MDC, Modbus,
kiosk HTTP) on 127.0.0.1, BLE beacons come from a BlueZ stand-in on a private D-Bus bus, the
camera is a recorded pedestrian video, and the MQTT broker the config names is normally not
running, so the agent buffers everything in its store and says so (a broker started on that port,
to watch what would go to HQ, is used, and the banner says how to watch it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from .cli.simulate_cmd import (
    NotStarted,
    describe,
    not_run_line,
    not_stopped_line,
    start_emulators,
    stop_emulators,
)
from .logging import configure
from .runtime.app import Agent, StartupError
from .settings.errors import ConfigError
from .settings.loader import load
from .settings.root import Settings
from .store.errors import StoreError
from .store.store import Store
from .uplink.topics import Topics

CONFIG = Path("config/demo.yaml")


async def main(config: Path = CONFIG) -> int:
    console = Console(stderr=True)
    try:
        settings = load(config)
    except ConfigError as exc:
        for issue in exc.issues:
            sys.stderr.write(f"{issue}\n")
        return 3
    settings.agent.data_dir.mkdir(parents=True, exist_ok=True)  # serial emulators put ptys there
    failed: list[NotStarted] = []
    emulators = await start_emulators(config, failed)
    if failed and not emulators:  # another demo holds the ports, most likely: nothing to show
        console.print(
            f"no emulator could start: {not_run_line(failed)}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1
    for device_id, emulator in emulators:
        console.print(f"[cyan]emulator[/] {device_id}:", describe(emulator), soft_wrap=True)
        bus = getattr(emulator, "bus_address", "")
        if bus:  # the BLE stand-in's private bus: bleak in this process looks for BlueZ there
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus
    console.print(
        f"[bold]demo branch {settings.agent.branch_id}[/]: {_count(settings.devices, 'device')}, "
        f"{_count(settings.cameras, 'camera')}; {await broker_line(settings)}.\n"
        f"In another terminal:  .venv/bin/edge-agent status -c {config}\n"
        f"                      .venv/bin/edge-agent events tail -f -c {config}\n"
        f"                      .venv/bin/edge-agent devices cmd lobby-projector power on -c {config}\n"
        "Stop with Ctrl-C.",
        soft_wrap=True,
    )
    ran = True
    try:
        code = await Agent(config, settings).run()
    except StartupError as exc:
        console.print(f"[red]cannot start:[/] {exc} ({exc.hint})")
        code, ran = 1, False
    finally:  # on a crash as well: the emulators must not outlive the demo
        _quiet_bus_teardown(asyncio.get_running_loop())
        unstopped = await stop_emulators(emulators)
    if ran:
        await _say_what_waits(console, settings)
    if ran and failed:  # said last, so a partial demo is not taken for a whole one
        console.print(
            f"the demo ran without {len(failed)} of {len(failed) + len(emulators)} emulators "
            f"(their devices stayed offline): {not_run_line(failed)}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if unstopped:  # what they held may block the next demo
        console.print(
            not_stopped_line(unstopped), style="red", markup=False, highlight=False, soft_wrap=True
        )
    return (code or 1) if failed or unstopped else code


async def _say_what_waits(console: Console, settings: Any) -> None:
    """After the stop, one line for people: what the store keeps for HQ, and where."""
    store = Store(settings.agent.data_dir / "edge-agent.db", settings.store)
    try:
        await store.open()
        stats = await store.stats()
    except StoreError as exc:  # the agent's own log has said why; this line is a courtesy
        console.print(f"stopped; the store could not be read back: {exc}", markup=False)
        return
    finally:
        await store.close()
    classes = ", ".join(f"{n} {cls}" for cls, n in stats.depth_by_class.items() if n)
    console.print(
        f"stopped: {stats.depth} items wait in {store.path} ({classes or 'nothing'}) and go to HQ "
        "once a broker answers; the next `make demo` starts with them, `make clean` empties it.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


async def broker_line(settings: Settings) -> str:
    """What the banner says of the broker. The demo's is normally absent, but one started on its
    port (to watch what goes to HQ) is used at once, and the banner must not deny it."""
    mqtt = settings.uplink.mqtt
    if not settings.uplink.enabled:
        return "the uplink is off in the config, so the agent keeps everything in its store"
    where = f"{mqtt.host}:{mqtt.port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(mqtt.host, mqtt.port), 2.0)
    except (OSError, TimeoutError):
        return f"MQTT broker {where} is not running, so the agent buffers to its store"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    root = Topics.for_agent(mqtt.topic_prefix, settings.agent.branch_id, settings.agent.agent_id)
    return (
        f"something listens on {where}, so the agent sends to it (`status` says whether it "
        f"connected); watch with `mosquitto_sub -h {mqtt.host} -p {mqtt.port} -v -t '{root.root}/#'`"
    )


def _count(items: Any, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _quiet_bus_teardown(loop: asyncio.AbstractEventLoop) -> None:
    """Once the agent has stopped, drop the end-of-file errors of bleak's process-wide BlueZ
    connection as the demo's stand-in bus goes away: they are the demo's teardown, not news."""

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), EOFError | OSError):
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


if __name__ == "__main__":
    configure("info")
    raise SystemExit(asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else CONFIG)))
