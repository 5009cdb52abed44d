"""The `kiosk` device entry: where its health API lives, how to command it, how to wake it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..sdk import DeviceConfig, InvalidArgument
from ..sdk.addresses import HOST_HINT, IPv4Host, host_problem, refused, shown
from ..sdk.messages import worded
from .codec import format_mac, parse_mac

_PATH = worded(r"^/", "a path starting with '/'")


class KioskCommand(BaseModel):
    """One HTTP call. String values "{arg}" in `body` are filled from the command's args."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = Field(pattern=_PATH, description="Path under base_url, e.g. /api/power/off.")
    body: dict[str, Any] | None = None


def _default_commands() -> dict[str, KioskCommand]:
    return {
        "power_off": KioskCommand(path="/power/off"),
        "scene": KioskCommand(path="/scene", body={"name": "{name}"}),
    }


def _refuse_credentials(url: str) -> None:
    """`user:password@` in a URL, which aiohttp would send as Basic auth, is refused before any
    other check looks at the URL: every message quoting it would show the password (which may
    hold `/`, `#`, `?` or `[`, so URL parsing cannot be trusted to find it)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return
    hidden = f"{scheme}://***@" if sep else "***@"
    raise refused(
        "url_credentials",
        f"{shown(hidden + rest.rpartition('@')[2])} holds a user name or password, which would "
        "show wherever the URL does (the journal, `devices probe`, errors sent to HQ)",
        "put the kiosk's bearer token in token_file; a kiosk that takes only a user name and "
        "password (Basic auth) is not supported",
    )


class KioskConfig(DeviceConfig):
    driver: Literal["kiosk"]
    base_url: str = Field(
        pattern=worded(
            r"^https?://[^/]+$", "http://HOST[:PORT] or https://HOST[:PORT], with no path"
        ),
        description="http://host:port, no path.",
    )
    health_path: str = Field(default="/health", pattern=_PATH)
    state_key: str | None = Field(default=None, description="Dotted key of the state object.")
    heartbeat_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    volatile_keys: list[str] = Field(
        default_factory=lambda: ["uptime_s"],
        description="State keys that change on every report (an uptime, a clock): a change only "
        "in them is sent at most once a minute.",
    )
    websocket_path: str | None = Field(default=None, pattern=_PATH, description="Push heartbeats.")
    token_file: Path | None = Field(default=None, description="File with the bearer token.")
    commands: dict[str, KioskCommand] = Field(default_factory=_default_commands)
    mac: str | None = Field(default=None, description="Kiosk PC's wired MAC, for Wake-on-LAN.")
    wol_broadcast: IPv4Host = Field(
        default="255.255.255.255",
        description=(
            "Broadcast address of the kiosk's LAN, e.g. 192.168.10.255. Set it: the default "
            "leaves by the default route, which on a 5G gateway is not the branch LAN."
        ),
    )
    wol_port: int = Field(default=9, ge=1, le=65535)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        """`http://host:port/` is what many people write: take it. A path is said plainly."""
        if not isinstance(value, str):
            return value
        _refuse_credentials(value)
        value = value.rstrip("/") if value.count("/") == 3 else value
        _scheme, sep, rest = value.partition("://")
        if sep and "/" in rest:
            path = "/" + rest.split("/", 1)[1]
            raise ValueError(
                f"base_url is scheme://host:port only; put the path {path!r} in health_path "
                "and the commands' paths"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_host(cls, value: str) -> str:
        """The host and port the HTTP and WebSocket clients connect to; `host_port` must not be
        the first to find them unusable (an empty host would quietly mean 127.0.0.1)."""
        hint = "write http://HOST:PORT, e.g. http://192.168.10.70:8081"
        try:
            parts = urlsplit(value)
        except ValueError:  # an unclosed `[`
            raise refused("url_host", f"{shown(value)} is not a usable URL", hint) from None
        try:
            port = parts.port
        except ValueError:
            raise refused(
                "url_host", f"{shown(value)} has a port that is not a number from 1 to 65535", hint
            ) from None
        if not parts.hostname:
            raise refused("url_host", f"{shown(value)} names no host", hint)
        if port == 0:
            raise refused("url_host", f"{shown(value)} has port 0, which nothing listens on", hint)
        problem = host_problem(parts.hostname)
        if problem is not None:
            raise refused("url_host", f"its host {shown(parts.hostname)} {problem}", HOST_HINT)
        return value

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return format_mac(parse_mac(value))
        except InvalidArgument as exc:
            raise ValueError(exc.message) from None

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.base_url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "127.0.0.1", parts.port or default
