"""One way to print results: JSON for scripts (`--json` or a pipe), rich tables for people.

Text that comes from devices, the config or the store is never Rich markup: a kiosk that answers
`[/lp0] jam` or a beacon list `[tag-1,tag-2]` must print as sent. Table cells are plain text
unless a cell is already a `rich.text.Text` (`styled()`); lines built with markup pass such
values through `escape()`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleRenderable
from rich.markup import escape
from rich.table import Table
from rich.text import Text

# A pipe or a log file gets wide lines instead of Rich's 80 columns, so an address or a path is
# not cut in two where an engineer would copy it.
PIPE_WIDTH = 200
# No `:name:` emoji codes: a value such as `:warning:` from a device prints as sent.
console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH, emoji=False)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH, emoji=False)


class Exit(IntEnum):
    """Documented exit codes (README, `edge-agent --help`)."""

    OK = 0
    FAILED = 1  # the command ran and the answer is "no" (device error, check failed)
    USAGE = 2  # bad arguments (typer's own code)
    CONFIG = 3  # the config file is invalid
    NOT_RUNNING = 4  # the daemon's control socket does not answer
    NOT_FOUND = 5  # unknown device, camera or model
    TIMEOUT = 6  # the daemon answered too late


JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


def ago(ts: float | None) -> str:
    """ "12s ago", "5m ago", "2.5h ago", or "never"."""
    if not ts:
        return "never"
    s = max(0.0, time.time() - ts)
    return (
        f"{s:.0f}s ago" if s < 120 else f"{s / 60:.0f}m ago" if s < 7200 else f"{s / 3600:.1f}h ago"
    )


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def plain(value: Any) -> str:
    """A value as an engineer types it: `on`, `-` for nothing, `true`, `[a,b]`, JSON for the rest."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, str | int | float) for v in value
    ):
        return "[" + ",".join(plain(v) for v in value) + "]"
    return json.dumps(value, separators=(",", ":"), default=str)


def styled(value: Any, style: str = "") -> Text:
    """`value` as plain text (never markup) in `style`, for a table cell or a line."""
    return Text(plain(value), style=style)


def cell(value: Any) -> ConsoleRenderable:
    """A table cell: Rich text and renderables as they are, any other value as plain text."""
    if isinstance(value, ConsoleRenderable):
        return value
    return styled(value)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A table whose cells are plain text (see `cell`): device text is never read as markup."""
    t = Table(title=None if title is None else Text(title), header_style="bold")
    for i, col in enumerate(columns):
        t.add_column(col, no_wrap=i == 0)  # ids stay whole so they can be copied
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    return t


def show(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print `data` as JSON when asked, else through `render` (which uses `console`)."""
    if as_json:
        print_json(data)
    else:
        render(data)


def fail(
    message: str,
    code: Exit,
    *,
    as_json: bool = False,
    hint: str | None = None,
    json_lines: bool = False,
) -> NoReturn:
    """Say what went wrong (and what to do) without a traceback, then exit with `code`.
    `json_lines`: the command streams JSON lines, so the error is one more line."""
    if as_json:
        payload: Mapping[str, Any] = {
            "ok": False,
            "error": {"code": code.name.lower(), "message": message, "hint": hint},
        }
        if json_lines:
            sys.stdout.write(json.dumps(payload) + "\n")
        else:
            print_json(payload)
    else:
        # messages and hints quote devices and files: printed as they are, never as markup
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        if hint:
            err_console.print(f"[dim]hint:[/] {escape(hint)}", highlight=False)
    raise typer.Exit(int(code))
