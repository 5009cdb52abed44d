"""Reading a `*_file` secret, the one way every context and emulator does it."""

from __future__ import annotations

from pathlib import Path

from .errors import AuthFailed


def read_secret_file(path: Path) -> str:
    """The file's text, stripped. Raises AuthFailed naming the file (never its content) when
    the file cannot be read or is not UTF-8 text."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise AuthFailed(f"cannot read secret file {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8").strip()  # no newline translation inside
    except UnicodeDecodeError as exc:  # its `object` holds the secret: raised outside, unchained
        offset = exc.start
    raise AuthFailed(
        f"secret file {path} is not UTF-8 text (invalid byte at offset {offset}); "
        "write the secret again as plain text"
    )
