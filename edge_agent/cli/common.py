"""Helpers shared by CLI modules: find the config and socket, call the daemon, map errors to exits."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape

from ..control.client import ControlFailed, NotRunning
from ..settings.agent import AgentSettings
from ..settings.errors import ConfigError
from ..settings.loader import load
from ..settings.root import Settings
from ..settings.yamltext import MAX_FILE_BYTES
from .output import Exit, err_console, fail

T = TypeVar("T")

SYSTEM_CONFIG = Path("/etc/edge-agent/config.yaml")
DEMO_CONFIG = Path("config/demo.yaml")


def _default_config() -> Path:
    """$EDGE_AGENT_CONFIG, else the installed config, else the demo config of a source checkout."""
    env = os.environ.get("EDGE_AGENT_CONFIG")
    if env:
        return Path(env)
    if not SYSTEM_CONFIG.exists() and DEMO_CONFIG.exists():
        return DEMO_CONFIG
    return SYSTEM_CONFIG


DEFAULT_CONFIG = _default_config()

ConfigOption = typer.Option(
    DEFAULT_CONFIG, "--config", "-c", help="Config file (env EDGE_AGENT_CONFIG)."
)
SocketOption = typer.Option(
    None, "--socket", help="Control socket; default: agent.control_socket from the config."
)


def load_or_exit(path: Path, *, as_json: bool = False) -> Settings:
    try:
        return load(path)
    except ConfigError as exc:
        if as_json:
            from .output import print_json

            print_json(
                {"ok": False, "errors": [i.__dict__ | {"file": str(i.file)} for i in exc.issues]}
            )
        else:
            for issue in exc.issues:  # one unwrapped line each, so they can be grepped and clicked
                sys.stderr.write(f"{issue}\n")
            err_console.print(f"[bold red]{len(exc.issues)} problem(s)[/] in {escape(str(path))}")
        raise typer.Exit(int(Exit.CONFIG)) from None


def socket_path(config: Path, socket: Path | None) -> Path:
    """The control socket: --socket, else agent.control_socket from the config.

    Finding the socket must not need a valid config: an engineer mid-edit, or one who may not
    read the secret files, still gets `status`. So a config that fails to load is read for just
    that one key (by a plain text search when the YAML itself is broken), falling back to the
    packaged default. A missing or unparsable file is said on stderr, so a "no daemon answers"
    that follows is not taken for a dead daemon.
    """
    if socket is not None:
        return socket
    env = os.environ.get("EDGE_AGENT__AGENT__CONTROL_SOCKET")
    if env:
        return Path(env)
    try:
        return load(config).agent.control_socket
    except ConfigError as exc:
        problem = str(exc.issues[0]) if exc.issues else str(exc)
    default = Path(AgentSettings.model_fields["control_socket"].default)
    try:
        with config.open("rb") as stream:  # no further than the loader reads
            text = stream.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        err_console.print(
            f"[yellow]warning:[/] cannot read {escape(str(config))} ({exc.strerror}); "
            f"trying the default socket {escape(str(default))}",
            soft_wrap=True,
        )
        return default
    value = _socket_key(text)
    if value is None:
        return default
    if value is _UNPARSABLE:
        found = _SOCKET_LINE.search(text)  # the first line that sets it, comments skipped
        err_console.print(f"[yellow]warning:[/] {escape(problem)}", soft_wrap=True)
        if found is None:
            err_console.print(
                f"  no control_socket in it; trying the default socket {default}", markup=False
            )
            return default
        value = next(v for v in found.groups() if v is not None)
        err_console.print(f"  trying its control_socket: {value}", markup=False)
    path = Path(str(value))
    return path if path.is_absolute() else (config.parent / path).resolve()


_UNPARSABLE = object()
# `control_socket: VALUE` on a line that is not a comment, block or flow style; a quoted value
# is taken whole (spaces and all), a bare one up to a space, comma, brace or comment.
_SOCKET_LINE = re.compile(
    r"""^[^#\n]*?\bcontrol_socket[ \t]*:[ \t]*(?:"([^"\n]+)"|'([^'\n]+)'|([^\s,}#"']+))""", re.M
)


def _socket_key(text: str) -> Any:
    """agent.control_socket of a config that parses as YAML (None if unset), else _UNPARSABLE."""
    from ruamel.yaml import YAML

    try:
        raw = YAML(typ="safe").load(text)
    except Exception:  # noqa: BLE001 - any YAML error: the caller searches the text instead
        return _UNPARSABLE
    agent = raw.get("agent") if isinstance(raw, dict) else None
    value = agent.get("control_socket") if isinstance(agent, dict) else None
    return value if isinstance(value, str) and value else None


def daemon(
    coro: Coroutine[Any, Any, T],
    *,
    as_json: bool = False,
    json_lines: bool = False,
    usage_hint: str | None = None,
) -> T:
    """Run a control-socket call; a stopped daemon or an error becomes a message and an exit code.
    `json_lines`: the command streams JSON lines, so an error is one more line. Arguments the
    daemon finds do not fit (`invalid_argument`) are bad usage, exit 2 as typer's own, with
    `usage_hint` unless the daemon gave a hint."""
    try:
        return asyncio.run(coro)
    except NotRunning as exc:
        fail(
            str(exc),
            Exit.NOT_RUNNING,
            as_json=as_json,
            json_lines=json_lines,
            hint="start it: `systemctl start edge-agent`, `edge-agent run --config FILE`, or `make demo` in a checkout",
        )
    except TimeoutError as exc:
        fail(str(exc), Exit.TIMEOUT, as_json=as_json, json_lines=json_lines)
    except ControlFailed as exc:
        code = {"not_found": Exit.NOT_FOUND, "invalid_argument": Exit.USAGE}.get(
            exc.code, Exit.FAILED
        )
        hint = exc.hint or (usage_hint if code is Exit.USAGE else None)
        fail(exc.message, code, as_json=as_json, hint=hint, json_lines=json_lines)
