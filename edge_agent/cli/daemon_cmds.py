"""Commands that run or ask the daemon: run, status, devices, events, reload."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from ..control.client import call, stream
from .common import ConfigOption, SocketOption, daemon, load_or_exit, socket_path
from .output import (
    Exit,
    JsonOption,
    ago,
    console,
    fail,
    plain,
    print_json,
    show,
    styled,
    table,
)

devices_app = typer.Typer(help="Devices: list, show, command, probe.", no_args_is_help=True)
events_app = typer.Typer(help="Accepted events, readings and summaries.", no_args_is_help=True)


LAST_KNOWN = "last known: "


def _brief_state(state: dict[str, Any], width: int = 48, prefix: str = "") -> str:
    """The scalar parts of a device's state (and short lists, such as the beacons present),
    short enough for one table cell (`prefix` included)."""
    parts = [f"{k}={plain(v)}" for k, v in state.items() if _is_brief(v)]
    text = prefix + ", ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


def _state_cell(d: dict[str, Any]) -> Text:
    """The state as of now; for an offline device, dimmed and marked as the last known."""
    if d["online"] or not d["state"]:
        return styled(_brief_state(d["state"]))
    return styled(_brief_state(d["state"], prefix=LAST_KNOWN), "dim")


def _is_brief(value: Any) -> bool:
    scalar = str | int | float | bool
    return isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(v, scalar) for v in value)
    )


def _pairs(result: Any) -> str:
    """A command's result as `key=value` pairs (not a Python repr)."""
    if isinstance(result, dict):
        return " ".join(f"{k}={plain(v)}" for k, v in result.items()) or "done"
    return plain(result)


def _reason(d: dict[str, Any], width: int = 60) -> str:
    """The reason code, and for a device that is not ok, what it last said (the detail)."""
    if d["online"] or not d.get("detail"):
        return str(d["reason"])
    text = f"{d['reason']}: {d['detail']}"
    return text if len(text) <= width else text[: width - 1] + "…"


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
        reason = _reason({"online": running, "reason": c.get("reason"), "detail": c.get("detail")})
        on = c.get("close_ups")
        close_ups = "-" if on is None else "on" if on else "off"  # "-": this camera has none
        rows.append([cid, state, reason, c.get("fps"), close_ups, c.get("people"), zones, lines])
    return rows


def _device_rows(devices: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for d in devices:
        rows.append(
            [
                d["id"],
                d["driver"],
                _online(d["online"]),
                _reason(d),
                _state_cell(d),
                d["restarts"],
                ago(d["last_seen"]),
            ]
        )
    return rows


def _online(online: bool) -> Text:
    return styled("online", "green") if online else styled("offline", "red")


def _next_retry(at: float | None) -> str:
    """When the supervisor tries an offline device again: `in 12 s (14:03:05)`."""
    if at is None:
        return "not scheduled"
    clock = time.strftime("%H:%M:%S", time.localtime(at))
    left = at - time.time()
    return f"in {left:.0f} s ({clock})" if left >= 0.5 else f"now ({clock})"


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
        fail(
            str(exc),
            Exit.FAILED,
            hint="is another edge-agent running on this data_dir? does the service user own agent.data_dir "
            "and the control socket's directory?",
        )
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
        console.print(Panel(Group(head, store, uplink), title="edge-agent"))
        console.print(
            table(
                "devices",
                ["id", "driver", "status", "reason", "state", "restarts", "last seen"],
                _device_rows(s["devices"]),
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
                        "people",
                        "zones",
                        "lines in/out",
                    ],
                    _camera_rows(s["cameras"]),
                )
            )

    show(data, as_json, render)


@devices_app.command("list")
def devices_list(
    config: Path = ConfigOption, socket: Path | None = SocketOption, as_json: bool = JsonOption
) -> None:
    """Every configured device with its state and reason code."""
    data = daemon(call(socket_path(config, socket), "devices.list"), as_json=as_json)
    show(
        data,
        as_json,
        lambda d: console.print(
            table(
                None,
                ["id", "driver", "status", "reason", "state", "restarts", "last seen"],
                _device_rows(d),
            )
        ),
    )


@devices_app.command("show")
def devices_show(
    device_id: str,
    config: Path = ConfigOption,
    socket: Path | None = SocketOption,
    as_json: bool = JsonOption,
) -> None:
    """One device in detail: state, reason, restarts, actions it accepts."""
    data = daemon(
        call(socket_path(config, socket), "devices.show", {"id": device_id}), as_json=as_json
    )

    def render(d: dict[str, Any]) -> None:
        rows: list[list[Any]] = [
            ["status", _online(d["online"])],
            ["reason", d["reason"]],
            ["detail", d["detail"]],
            ["restarts", d["restarts"]],
            ["last seen", ago(d["last_seen"])],
            ["since", ago(d["since"])],
        ]
        if not d["online"]:  # the probe's hint sends the engineer here for this row
            rows.append(["next retry", _next_retry(d.get("next_retry_at"))])
        rows.append(["actions", ", ".join(d["actions"]) or "-"])
        if d["online"]:
            rows += [[f"state.{k}", v] for k, v in d["state"].items()]
        else:  # not current: what the device said before it went offline
            rows += [
                [f"state.{k}", styled(LAST_KNOWN + plain(v), "dim")] for k, v in d["state"].items()
            ]
        console.print(table(f"{d['id']} ({d['driver']})", ["field", "value"], rows))

    show(data, as_json, render)


@devices_app.command("cmd")
def devices_cmd(
    device_id: str,
    action: str,
    words: list[str] = typer.Argument(None, help="Arguments: values in order, or key=value."),
    config: Path = ConfigOption,
    socket: Path | None = SocketOption,
    as_json: bool = JsonOption,
) -> None:
    """Send a command, e.g. `devices cmd lobby-projector power on`; `_agent` is the agent itself
    (`ping`, `reload`, and with the uplink on, `rebirth` and `sync_now`). Arguments that do not
    fit the action exit 2, as any bad usage does."""
    usage_hint = (
        None  # its message says it: the agent's actions take no arguments
        if device_id == "_agent"
        else f"`edge-agent devices show {device_id}` lists its actions; arguments go in order "
        "or as key=value"
    )
    data = daemon(
        call(
            socket_path(config, socket),
            "devices.cmd",
            {"id": device_id, "action": action, "words": words or []},
            timeout=30,
        ),
        as_json=as_json,
        usage_hint=usage_hint,
    )
    # `_agent reload` answers ok with applied=false when the file is rejected: exit as `reload` does
    rejected = (
        device_id == "_agent"
        and action == "reload"
        and data["ok"]
        and isinstance(data["result"], dict)
        and data["result"].get("applied") is False
    )
    what = escape(f"{device_id} {action}")  # results hold [lists] rich would take for markup
    # arguments the action does not take: bad usage (exit 2), not a device that said no
    usage = not data["ok"] and (data.get("error") or {}).get("code") == "invalid_argument"
    if as_json:
        print_json(data)
    elif usage:
        fail(f"{device_id} {action}: {data['error']['message']}", Exit.USAGE, hint=usage_hint)
    elif rejected:
        for e in data["result"].get("errors", []):
            console.print(e, markup=False, highlight=False)
        console.print(f"[red]rejected[/] {what}: the daemon keeps running the previous config")
    elif data["ok"]:
        console.print(f"[green]ok[/] {what}: {escape(_pairs(data['result']))}", highlight=False)
    else:
        err = data["error"]
        why = escape(f"{err['code']}: {err['message']}")
        console.print(f"[red]failed[/] {what}: {why}")
    if rejected:
        raise typer.Exit(int(Exit.CONFIG))
    if not data["ok"]:
        raise typer.Exit(int(Exit.USAGE if usage else Exit.FAILED))


@devices_app.command("probe")
def devices_probe(
    device_id: str,
    config: Path = ConfigOption,
    socket: Path | None = SocketOption,
    as_json: bool = JsonOption,
) -> None:
    """Ask a device who it is: model, serial, firmware, class, inputs."""
    data = daemon(
        call(socket_path(config, socket), "devices.probe", {"id": device_id}, timeout=60),
        as_json=as_json,
    )
    show(
        data,
        as_json,
        lambda d: console.print(
            table(device_id, ["field", "value"], [[k, v] for k, v in d.items()])
        ),
    )


@events_app.command("tail")
def events_tail(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new items."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many of the newest (at most 10 000)."),
    device: str | None = typer.Option(None, "--device", help="Only this device's items."),
    kind: list[str] = typer.Option(None, "--kind", help="Only these kinds (repeatable)."),
    config: Path = ConfigOption,
    socket: Path | None = SocketOption,
    as_json: bool = JsonOption,
) -> None:
    """The newest accepted items; with --follow, new ones as they are accepted."""

    async def go() -> None:
        params = {"limit": limit, "follow": follow, "device": device, "kinds": kind or None}
        header = not as_json
        async for item in stream(
            socket_path(config, socket), "events.tail", params, timeout=None if follow else 10
        ):
            if item is None:  # nothing passed the filter: an empty stream
                continue
            if as_json:
                print(json.dumps(item), flush=True)  # noqa: T201 - JSON lines to stdout
            else:
                if header:  # once, above the first item
                    console.print(
                        f"{'seq':>8} {'time':<8} {'class':<7} {'kind':<10} {'device':<16} data",
                        style="bold",
                        markup=False,
                        highlight=False,
                    )
                    header = False
                ts = time.strftime("%H:%M:%S", time.localtime(item["ts"]))
                line = Text.assemble(  # plain text pieces: the data is never read as markup
                    f"{item['seq']:>8} {ts} ",
                    (f"{item['cls']:<7}", "cyan"),
                    f" {item['kind']:<10} {item['device'] or '-':<16} {plain(item['data'])}",
                )
                console.print(line, highlight=False, soft_wrap=True)  # one item, one line

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow quietly
        daemon(go(), as_json=as_json, json_lines=True)


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
    from . import camera_cmd, config_cmd, models_cmd, simulate_cmd, sync_cmd, vision_cmd

    app.command()(run)
    app.command()(status)
    app.command()(reload)
    app.add_typer(devices_app, name="devices")
    app.add_typer(events_app, name="events")
    app.add_typer(config_cmd.app, name="config")
    app.command("simulate")(simulate_cmd.simulate)
    app.add_typer(sync_cmd.app, name="sync")
    app.add_typer(models_cmd.app, name="models")
    app.add_typer(vision_cmd.app, name="vision")
    app.add_typer(camera_cmd.app, name="camera")
