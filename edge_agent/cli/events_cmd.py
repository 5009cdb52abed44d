"""`edge-agent events tail`: the items the store accepted, newest last, and new ones as they come."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from ..control.client import stream
from .common import ConfigOption, SocketOption, daemon, socket_path
from .output import JsonOption, console, plain

app = typer.Typer(help="Accepted events, readings and summaries.", no_args_is_help=True)

#: The kind column: wide enough for every built-in kind (`display_fault_cleared`).
KIND_W = 21
HEADER = f"{'seq':>8} {'time':<8} {'class':<7} {'kind':<{KIND_W}} {'device':<16} data"


def row(item: dict[str, Any]) -> Text:
    """One item as a line under HEADER; plain text pieces, so data is never read as markup."""
    ts = time.strftime("%H:%M:%S", time.localtime(item["ts"]))
    return Text.assemble(
        f"{item['seq']:>8} {ts} ",
        (f"{item['cls']:<7}", "cyan"),
        f" {item['kind']:<{KIND_W}} {item['device'] or '-':<16} {plain(item['data'])}",
    )


@app.command("tail")
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
                    console.print(HEADER, style="bold", markup=False, highlight=False)
                    header = False
                console.print(row(item), highlight=False, soft_wrap=True)  # one item, one line

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow quietly
        daemon(go(), as_json=as_json, json_lines=True)
