"""File names typed into a config, as pydantic types; `path_problem` says why one can name no file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from drivers.sdk.paths import path_problem

__all__ = ["UsablePath", "path_problem"]


def _usable(path: Path) -> Path:
    problem = path_problem(str(path))
    if problem:
        raise ValueError(f"the path {problem}")
    return path


UsablePath = Annotated[Path, AfterValidator(_usable)]
