"""structlog set-up: JSON lines for journald and pipes, pretty output on a TTY, secrets redacted.

Redaction works two ways: fields whose *name* looks secret are masked, and the *values* of every
secret the daemon has read from a `*_file` are masked wherever they appear in any string field, so
a password echoed inside an exception message is caught too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api_?key|private_?key|pin|credential|authorization)", re.I
)
_known_secrets: set[str] = set()
# user:password@ inside one URL: neither part may cross a '/', quote, comma or white space.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s\"',]+:)[^@/\s\"',]+@")


def redact_url_passwords(text: str) -> str:
    """rtsp://user:pass@cam/ -> rtsp://user:***@cam/ (camera URLs carry passwords)."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}@", text)


def register_secret(value: str) -> None:
    """Remember a secret's value so no log line ever shows it. Short values are masked too."""
    if value:
        _known_secrets.add(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        value = redact_url_passwords(value)
        for secret in _known_secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if _is_secret_key(k) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # never log raw payloads or image bytes
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and not key.endswith("_file") and bool(_SECRET_KEY.search(key))


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-named fields and known secret values; drop raw bytes."""
    for key in list(event_dict):
        event_dict[key] = REDACTED if _is_secret_key(key) else _scrub(event_dict[key])
    return event_dict


def configure(
    level: str = "info", *, stream: TextIO | None = None, json: bool | None = None
) -> None:
    """Configure structlog once per process. `json=None` picks JSON unless `stream` is a TTY."""
    out = stream or sys.stderr
    use_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
