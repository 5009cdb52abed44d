"""The `edge-agent` command. Each concern's commands live in their own module as a typer app."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="edge-agent",
    help="Branch gateway: devices, on-device vision, store-and-forward MQTT uplink.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Imported here so `edge-agent --help` stays quick and a broken optional module is obvious.
    from . import daemon_cmds

    daemon_cmds.register(app)


def main() -> None:
    _register()
    app()
