"""`edge-agent sync status` and `edge-agent sync now`: the store-and-forward backlog from the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..control.client import call, stream
from .common import ConfigOption, SocketOption, daemon, socket_path
from .output import Exit, JsonOption, ago, console, fail, show, table

app = typer.Typer(
    help="The store-and-forward backlog: how big it is, and drain it now.", no_args_is_help=True
)


def _link(up: dict[str, Any]) -> str:
    """connected / buffering for N s after M attempts / connecting."""
    state = up.get("state") or ("connected" if up.get("connected") else "disconnected")
    if state == "buffering":
        down = up.get("disconnected_for_s")
        since = f" for {down:.0f} s" if isinstance(down, int | float) else ""
        why = up.get("last_error") or "broker unreachable"
        return f"buffering{since} ({why}, {up.get('reconnect_attempts', 0)} attempts)"
    return str(state)


def refused(up: dict[str, Any]) -> list[str]:
    """One line per topic the broker refuses (its ACL): why, since when, when it is tried again.
    The link is up, so without these a growing backlog would have no reason beside it."""
    lines = []
    for r in up.get("refused") or []:
        retry = r.get("retry_in_s")
        lines.append(
            f"{r.get('topic')}: {r.get('reason')} (reason code {r.get('reason_code')}), "
            f"since {ago(r.get('since'))}"
            + (f", tried again in {retry:.0f} s" if isinstance(retry, int | float) else "")
            + "; its items wait in the store"
        )
    return lines


def tls_problem(up: dict[str, Any], clock: dict[str, Any] | None) -> tuple[str, str] | None:
    """(what is wrong, the library's words) when TLS to the broker fails: for a certificate out
    of date by this PC's clock, which one, its date and the clock, and whether NTP has synced;
    else OpenSSL's text. None when TLS is not the problem."""
    if up.get("connected") or up.get("last_error") != "tls_failed":
        return None
    cert = up.get("certificate")
    if not cert:
        return str(up.get("last_error_detail") or "TLS handshake failed"), ""
    line = str(up.get("last_error_detail") or "")
    if (clock or {}).get("synced") is False:
        line += "; this PC's clock is not synchronised (no NTP yet?)"
    return line, str(cert.get("error") or "")


def client_id_in_use(up: dict[str, Any]) -> str | None:
    """The warning when the broker keeps ending our sessions right after connect: another
    client probably uses our client id, and the config keys to change. None when all is well."""
    c = up.get("client_id_in_use")
    if not c:
        return None
    keys = " / ".join(c.get("config_keys") or ["uplink.mqtt.client_id"])
    why = (
        "the broker says the session was taken over"
        if c.get("reason_code")
        == 0x8E  # uplink.takeover.SESSION_TAKEN_OVER (not imported: aiomqtt)
        else f"the broker ended {c.get('sessions_cut')} sessions within seconds of connecting"
    )
    return (
        f"another client may be connecting as {c.get('client_id')}: {why}, "
        f"since {ago(c.get('since'))}; give each gateway its own {keys}"
    )


@app.command("status")
def status(
    config: Path = ConfigOption, socket: Path | None = SocketOption, as_json: bool = JsonOption
) -> None:
    """Backlog depth and age, drain rate, last PUBACK and the broker link."""
    data: dict[str, Any] = daemon(call(socket_path(config, socket), "sync.status"), as_json=as_json)

    def render(d: dict[str, Any]) -> None:
        backlog, up = d.get("backlog", {}), d.get("uplink", {})
        limit = up.get("rate_limit") or {}
        tls = tls_problem(up, d.get("clock"))
        rows = [
            ("backlog", backlog.get("depth")),
            (
                "oldest",
                "-" if backlog.get("oldest_age_s") is None else f"{backlog['oldest_age_s']:.0f} s",
            ),
            (
                "by class",
                ", ".join(f"{k} {v}" for k, v in (backlog.get("depth_by_class") or {}).items()),
            ),
            (
                "dropped",
                ", ".join(f"{k} {v}" for k, v in (backlog.get("dropped_by_class") or {}).items()),
            ),
            ("broker", up.get("broker", "-")),
            ("link", _link(up)),
            *([("tls", tls[0])] if tls else []),
            *([("OpenSSL", tls[1])] if tls and tls[1] else []),
            *(("client id in use?", line) for line in [client_id_in_use(up)] if line),
            *(("broker refuses", line) for line in refused(up)),
            ("last PUBACK", ago(up.get("last_puback_at"))),
            ("sent/s", up.get("sent_per_s")),
            ("bytes today", up.get("bytes_sent_today")),
            ("backlog limit", f"{limit.get('msgs_per_s')} msg/s, {limit.get('bytes_per_s')} B/s"),
        ]
        console.print(table("sync", ["what", "now"], rows))

    show(data, as_json, render)


@app.command("now")
def now(
    timeout: float = typer.Option(
        30.0, "--timeout", help="Give up when no progress arrives for this long."
    ),
    config: Path = ConfigOption,
    socket: Path | None = SocketOption,
    as_json: bool = JsonOption,
) -> None:
    """Drain the backlog now, ignoring the rate limit, with a progress bar (JSON lines with --json)."""

    async def go() -> dict[str, Any]:
        last: dict[str, Any] = {}
        path = socket_path(config, socket)
        if as_json:
            async for progress in stream(path, "sync.now", {}, timeout=timeout):
                last = progress
                sys.stdout.write(json.dumps(progress) + "\n")  # JSON lines, one per progress step
            return last
        steps = aiter(stream(path, "sync.now", {}, timeout=timeout))
        # The bar appears with the first step: a drain that cannot start (no broker) says so
        # without drawing one.
        step: dict[str, Any] | None = await anext(steps, None)
        if step is None:
            return last
        with Progress(
            TextColumn("draining"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("sync", total=None)
            while step is not None:
                last = step
                total = step["sent"] + step["remaining"]
                bar.update(task, completed=step["sent"], total=total or 1)
                step = await anext(steps, None)
        return last

    last = daemon(go(), as_json=as_json, json_lines=True)
    if not last.get("connected", True):
        fail(
            "the uplink is not connected to the broker; nothing was sent",
            Exit.FAILED,
            as_json=as_json,
            json_lines=True,
            hint="check `edge-agent sync status` for the broker and the last error",
        )
    if not as_json:
        console.print(f"sent {last.get('sent', 0)}, {last.get('remaining', 0)} left")
        if last.get("remaining") and last.get("refused"):
            console.print(
                "the rest waits for topics the broker refuses: "
                + ", ".join(last["refused"])
                + " (see `edge-agent sync status`)",
                markup=False,
            )
