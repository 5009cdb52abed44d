"""`edge-agent config check|show|schema`: catch mistakes before the daemon does."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..logging import redact_url_passwords
from ..settings.errors import ConfigError, ConfigIssue
from ..settings.loader import config_hash, load
from ..settings.local import local_warnings
from ..settings.schema import json_schema
from .common import DEFAULT_CONFIG, load_or_exit
from .output import Exit, JsonOption, console, err_console, print_json

app = typer.Typer(help="Check, show and describe the YAML config.", no_args_is_help=True)
FileArgument = typer.Argument(
    None, help="The YAML config (or --config); default as for every command."
)
# Every other command takes the file as --config/-c: an engineer used to it may type it here too.
FileOption = typer.Option(None, "--config", "-c", help="The YAML config, as FILE.")


def _one_file(file: Path | None, config: Path | None) -> Path:
    """FILE or --config, whichever was typed (the same file if both); else the default config."""
    if file is not None and config is not None and file != config:
        raise typer.BadParameter(f"two files given, {file} and --config {config}: give one")
    return file or config or DEFAULT_CONFIG


def _as_json(issues: Sequence[ConfigIssue]) -> list[dict[str, Any]]:
    return [i.__dict__ | {"file": str(i.file)} for i in issues]


@app.command()
def check(
    file: Path | None = FileArgument,
    config: Path | None = FileOption,
    as_json: bool = JsonOption,
) -> None:
    """Report every problem as FILE:LINE:COL: message (hint). Exit 3 when there is any.

    Also warns (FILE:LINE:COL: warning: ...) about a camera file or /dev/videoN, or a serial
    port, that this PC does not have now: the daemon starts without them, so alone they exit 0.
    """
    file = _one_file(file, config)
    warnings = local_warnings(file)
    try:
        settings = load(file)
    except ConfigError as exc:
        if as_json:
            print_json(
                {"ok": False, "errors": _as_json(exc.issues), "warnings": _as_json(warnings)}
            )
        else:
            both = sorted([*exc.issues, *warnings], key=lambda i: (str(i.file), i.line, i.col))
            for issue in both:  # one unwrapped line each, so they can be grepped and clicked
                sys.stderr.write(f"{issue}\n")
            tail = f", {len(warnings)} warning(s)" if warnings else ""
            err_console.print(
                f"[bold red]{len(exc.issues)} problem(s)[/]{tail} in {escape(str(file))}"
            )
        raise typer.Exit(int(Exit.CONFIG)) from None
    summary = {
        "ok": True,
        "file": str(file),
        "config_hash": config_hash(settings),
        "devices": len(settings.devices),
        "cameras": len(settings.cameras),
        "warnings": _as_json(warnings),
    }
    if as_json:
        print_json(summary)
        return
    for warning in warnings:
        sys.stderr.write(f"{warning}\n")
    tail = f", [yellow]{len(warnings)} warning(s)[/]" if warnings else ""
    console.print(
        f"[green]ok[/] {escape(str(file))}: {_count(len(settings.devices), 'device')}, "
        f"{_count(len(settings.cameras), 'camera')}, hash {summary['config_hash']}{tail}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _redacted(value: Any) -> Any:
    """Every string value with URL passwords masked; structure untouched."""
    if isinstance(value, str):
        return redact_url_passwords(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


@app.command()
def show(
    file: Path | None = FileArgument,
    config: Path | None = FileOption,
    as_json: bool = JsonOption,
) -> None:
    """The effective config (defaults and EDGE_AGENT__* overrides applied), secrets redacted.

    Secrets live in `*_file` paths, so only the paths show; a password inside a camera URL is masked.
    """
    settings = load_or_exit(_one_file(file, config), as_json=as_json)
    data = _redacted(settings.model_dump(mode="json"))
    if as_json:
        print_json(data)
    else:
        from ruamel.yaml import YAML

        YAML().dump(data, sys.stdout)


@app.command()
def schema(
    builtin_only: bool = typer.Option(
        False,
        "--builtin-only",
        help="Only the built-in drivers, not the plugins installed here (`make schema` for "
        "the repository's config/schema.json).",
    ),
) -> None:
    """Print the JSON Schema of the config, with every installed driver, for editors."""
    skipped: list[str] = []
    typer.echo(json.dumps(json_schema(skipped, builtin_only=builtin_only), indent=2))
    for why in skipped:  # on stderr, so the schema on stdout stays whole
        err_console.print(f"[yellow]left out:[/] {escape(why)}")
