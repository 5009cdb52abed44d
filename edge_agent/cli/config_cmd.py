"""`edge-agent config check|show|schema`: catch mistakes before the daemon does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..logging import redact_url_passwords
from ..settings.loader import config_hash
from ..settings.schema import json_schema
from .common import load_or_exit
from .output import JsonOption, console, print_json

app = typer.Typer(help="Check, show and describe the YAML config.", no_args_is_help=True)


@app.command()
def check(
    file: Path = typer.Argument(..., help="The YAML config to check."), as_json: bool = JsonOption
) -> None:
    """Report every problem as FILE:LINE:COL: message (hint). Exit 3 when there is any."""
    settings = load_or_exit(file, as_json=as_json)
    summary = {
        "ok": True,
        "file": str(file),
        "config_hash": config_hash(settings),
        "devices": len(settings.devices),
        "cameras": len(settings.cameras),
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"[green]ok[/] {escape(str(file))}: {summary['devices']} devices, "
            f"{summary['cameras']} cameras, "
            f"hash {summary['config_hash']}"
        )


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
    file: Path = typer.Argument(..., help="The YAML config."), as_json: bool = JsonOption
) -> None:
    """The effective config (defaults and EDGE_AGENT__* overrides applied), secrets redacted.

    Secrets live in `*_file` paths, so only the paths show; a password inside a camera URL is masked.
    """
    settings = load_or_exit(file, as_json=as_json)
    data = _redacted(settings.model_dump(mode="json"))
    if as_json:
        print_json(data)
    else:
        import sys

        from ruamel.yaml import YAML

        YAML().dump(data, sys.stdout)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config (commit it as config/schema.json for editors)."""
    typer.echo(json.dumps(json_schema(), indent=2))
