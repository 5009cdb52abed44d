"""Commands that run or ask the daemon as a whole: run, status, reload; and where every command
is mounted (`register`). Devices and events have their own modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel

from ..control.client import call
from .common import ConfigOption, SocketOption, daemon, load_or_exit, socket_path
from .devices_cmd import device_rows, reason_text
from .output import Exit, JsonOption, ago, console, fail, plain, print_json, show, styled, table
from .sync_cmd import client_id_in_use, refused, tls_problem


def clock_lines(clock: dict[str, Any] | None) -> list[str]:
    """The PC clock, when something is wrong with it: not synchronised, or stepped since start."""
    out: list[str] = []
    if not clock:
        return out
    if clock.get("synced") is False:
        out.append("[yellow]clock not synchronised[/] (no NTP yet?): times sent may be off")
    if clock.get("steps"):
        by = float(clock["last_step_s"])
        size = f"{abs(by) / 86400:.1f} d" if abs(by) >= 86400 else f"{abs(by):.0f} s"
        out.append(
            f"[yellow]clock stepped {'forward' if by > 0 else 'back'} {size}[/] {ago(clock['last_step_at'])}"
            f" ({clock['steps']} since start): items accepted before it carry the old clock's time"
        )
    return out


def _uplink_line(up: dict[str, Any], depth: int) -> str:
    """One sentence an engineer can read at a glance, buffering included."""
    if up.get("state") == "disabled":
        return f"uplink: [yellow]disabled[/] in the config; {depth} items wait in the store"
    if up.get("connected"):
        since = f", since {ago(up['since'])}" if up.get("since") else ""
        puback = f", last PUBACK {ago(up['last_puback_at'])}" if up.get("last_puback_at") else ""
        return (
            f"uplink: [green]connected[/] to {escape(plain(up.get('broker')))}{since}, "
            f"session {escape(plain(up.get('session')))}"
            f"{puback}, {up.get('sent_per_s', 0):.1f} items/s, backlog {depth}"
        )
    why = up.get("last_error") or "not connected yet"
    return (
        f"uplink: [yellow]offline[/] ({escape(plain(up.get('broker')))}: {escape(plain(why))}); "
        f"buffering {depth} items in the store, nothing is lost"
    )


def _camera_rows(cameras: dict[str, dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for cid, c in cameras.items():
        zones = ", ".join(f"{z}={n}" for z, n in c.get("zones", {}).items())
        lines = ", ".join(
            f"{name} {v.get('in', 0)}/{v.get('out', 0)}" for name, v in c.get("lines", {}).items()
        )
        running = c.get("state") == "running"
        state = styled("running", "green") if running else styled(c.get("state"), "red")
        reason = reason_text(
            {"online": running, "reason": c.get("reason"), "detail": c.get("detail")}
        )
        on = c.get("close_ups")
        close_ups = "-" if on is None else "on" if on else "off"  # "-": this camera has none
        engine = c.get("engine") or "-"
        rows.append(
            [cid, state, reason, c.get("fps"), close_ups, engine, c.get("people"), zones, lines]
        )
    return rows


def run(config: Path = ConfigOption) -> None:
    """Run the daemon in the foreground (systemd runs exactly this)."""
    import asyncio

    from ..logging import configure
    from ..runtime.app import Agent, StartupError

    settings = load_or_exit(config)
    configure(settings.agent.log_level)
    try:
        code = asyncio.run(Agent(config, settings).run())
    except StartupError as exc:
        fail(str(exc), Exit.FAILED, hint=exc.hint)
    raise typer.Exit(code)


def status(
    config: Path = ConfigOption, socket: Path | None = SocketOption, as_json: bool = JsonOption
) -> None:
    """What the daemon is doing: devices, store backlog, uplink, cameras."""
    data = daemon(call(socket_path(config, socket), "status"), as_json=as_json)

    def render(s: dict[str, Any]) -> None:
        a, st, up = s["agent"], s["store"], s["uplink"]
        head = (
            f"[bold]{escape(a['branch_id'])}/{escape(a['agent_id'])}[/]  v{escape(a['version'])}  "
            f"up {a['uptime_s']:.0f}s  config {escape(a['config_hash'])}"
        )
        if a.get("restart_needed"):
            head += f"  [yellow]restart needed for {escape(', '.join(a['restart_needed']))}[/]"
        store = (
            f"store: {st['accepted_total']} accepted, backlog {st['depth']} "
            f"({', '.join(f'{k} {v}' for k, v in st['depth_by_class'].items())}), "
            f"dropped {sum(st['dropped_by_class'].values())}, {st['db_size_bytes'] / 1e6:.1f} MB"
        )
        if st.get("error"):  # e.g. disk_full: items wait in memory and are retried
            store += (
                f"\n[bold red]store {escape(st['error'])}[/]: {escape(st.get('error_message') or '')} "
                f"({st.get('held_in_memory', 0)} items held in memory, retrying)"
            )
        uplink = _uplink_line(up, st["depth"])
        for line in refused(up):
            uplink += f"\n[bold red]broker refuses[/] {escape(line)}"
        if (taken := client_id_in_use(up)) is not None:
            uplink += f"\n[bold red]client id in use?[/] {escape(taken)}"
        if (tls := tls_problem(up, a.get("clock"))) is not None:
            uplink += f"\n[bold red]TLS:[/] {escape(tls[0])}"
            uplink += f"\n  [dim]OpenSSL: {escape(tls[1])}[/]" if tls[1] else ""
        lines = [head, *clock_lines(a.get("clock")), store, uplink]
        console.print(Panel(Group(*lines), title="edge-agent"))
        console.print(
            table(
                "devices",
                ["id", "driver", "status", "reason", "state", "restarts", "last seen"],
                device_rows(s["devices"]),
            )
        )
        if s.get("cameras"):
            console.print(
                table(
                    "cameras",
                    [
                        "id",
                        "state",
                        "reason",
                        "fps",
                        "close-ups",
                        "engine",
                        "people",
                        "zones",
                        "lines in/out",
                    ],
                    _camera_rows(s["cameras"]),
                )
            )

    show(data, as_json, render)


def reload(
    config: Path = ConfigOption, socket: Path | None = SocketOption, as_json: bool = JsonOption
) -> None:
    """Re-read the config in the running daemon; only changed devices restart (cameras: all)."""
    data = daemon(call(socket_path(config, socket), "reload", timeout=30), as_json=as_json)
    if as_json:
        print_json(data)
    elif data.get("applied"):
        console.print(
            f"[green]applied[/] config {escape(data['config_hash'])}: "
            f"added {_ids(data['added'])}, changed {_ids(data['changed'])}, "
            f"removed {_ids(data['removed'])}",
            highlight=False,
        )
        if data.get("cameras") is not None:
            console.print(f"cameras restarted: {_ids(data['cameras'])}", highlight=False)
        if data.get("restart_needed"):
            console.print(
                f"[yellow]not applied yet[/]: changes under "
                f"{escape(', '.join(data['restart_needed']))} need `systemctl restart edge-agent`"
            )
    else:
        for e in data.get("errors", []):
            console.print(e, markup=False, highlight=False)
        console.print("[red]rejected[/]: the daemon keeps running the previous config")
    if not data.get("applied"):
        raise typer.Exit(int(Exit.CONFIG))


def _ids(ids: list[str]) -> str:
    """Device or camera ids as a reader lists them (`kiosk-1, kiosk-2`, or `none`), escaped."""
    return escape(", ".join(str(i) for i in ids)) if ids else "none"


def register(app: typer.Typer) -> None:
    from . import (
        camera_cmd,
        config_cmd,
        devices_cmd,
        events_cmd,
        models_cmd,
        simulate_cmd,
        sync_cmd,
        vision_cmd,
    )

    app.command()(run)
    app.command()(status)
    app.command()(reload)
    app.add_typer(devices_cmd.app, name="devices")
    app.add_typer(events_cmd.app, name="events")
    app.add_typer(config_cmd.app, name="config")
    app.command("simulate")(simulate_cmd.simulate)
    app.add_typer(sync_cmd.app, name="sync")
    app.add_typer(models_cmd.app, name="models")
    app.add_typer(vision_cmd.app, name="vision")
    app.add_typer(camera_cmd.app, name="camera")
