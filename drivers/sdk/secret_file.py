"""Reading a `*_file` secret, the one way every context and emulator does it."""

from __future__ import annotations

from pathlib import Path

from .errors import AuthFailed


def read_secret_file(path: Path) -> str:
    """The file's text, stripped. Raises AuthFailed naming the file (never its content) when
    the file cannot be read or is not UTF-8 text."""
    try:
        return Path(path).read_bytes().decode("utf-8").strip()  # no newline translation inside
    except OSError as exc:
        raise AuthFailed(f"cannot read secret file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # its `object` holds the secret: never chain it
        raise AuthFailed(
            f"secret file {path} is not UTF-8 text (invalid byte at offset {exc.start}); "
            "write the secret again as plain text"
        ) from None
