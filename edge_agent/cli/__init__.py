"""The `edge-agent` command. Each concern's commands live in their own module as a typer app."""

from __future__ import annotations

import typer
import typer.core


def _flags_take_no_value() -> None:
    """typer (0.2x) writes the type of every option in `--help`, `--json <bool>` included, which
    reads as if the flag took a value (`--json true` is then refused). A flag shows no type here,
    as click itself shows it; every other option keeps its `<type>`."""
    option: type[typer.core.TyperOption] = typer.core.TyperOption
    shown = getattr(option, "display_type_rich", None)
    if shown is None:  # a typer that does not write types
        return

    def display_type_rich(self: typer.core.TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    option.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

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
