"""`edge-agent devices`: list, show, command and probe the devices, and the cells `status` shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from ..control.client import call
from .common import ConfigOption, SocketOption, daemon, socket_path
from .output import Exit, JsonOption, ago, console, fail, plain, print_json, show, styled, table

app = typer.Typer(help="Devices: list, show, command, probe.", no_args_is_help=True)


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


def reason_text(d: dict[str, Any], width: int = 60) -> str:
    """The reason code, and for a device that is not ok, what it last said (the detail)."""
    if d["online"] or not d.get("detail"):
        return str(d["reason"])
    text = f"{d['reason']}: {d['detail']}"
    return text if len(text) <= width else text[: width - 1] + "…"


def device_rows(devices: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for d in devices:
        rows.append(
            [
                d["id"],
                d["driver"],
                _online(d["online"]),
                reason_text(d),
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


@app.command("list")
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
                device_rows(d),
            )
        ),
    )


@app.command("show")
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


@app.command("cmd")
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


@app.command("probe")
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
