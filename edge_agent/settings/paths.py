"""File names typed into a config. A NUL, or an unpaired surrogate from a `"\\ud800"` escape, can
name no file, and the os calls that check or resolve such a path raise ValueError: refuse it first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator


def path_problem(text: str) -> str | None:
    """Why `text` cannot be a file name on this system, or None when it can."""
    if "\0" in text:
        return "holds a NUL character, which no file name can"
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return "holds an unpaired surrogate (a `\\ud800`-style escape), which no file name can"
    return None


def _usable(path: Path) -> Path:
    problem = path_problem(str(path))
    if problem:
        raise ValueError(f"the path {problem}")
    return path


UsablePath = Annotated[Path, AfterValidator(_usable)]
