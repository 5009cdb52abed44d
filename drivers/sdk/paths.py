"""File names typed into a config. A NUL, or an unpaired surrogate from a `"\\ud800"` escape, can
name no file, and the os calls that check or resolve such a path raise ValueError: refuse it first.
Here in the SDK because drivers' configs name files too (a serial port); the loader uses it for
every path in the config."""

from __future__ import annotations

import os


def path_problem(text: str) -> str | None:
    """Why `text` cannot be a file name on this system, or None when it can."""
    if "\0" in text:
        return "holds a NUL character, which no file name can"
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return "holds an unpaired surrogate (a `\\ud800`-style escape), which no file name can"
    return None
