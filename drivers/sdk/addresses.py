"""Where a device is, as typed into its config: a host (IP address or DNS name) or a serial port.

Checked when the config is loaded, so `config check` names a host no resolver takes or a serial
path no OS opens, at its place in the file, instead of the driver failing at run time. The rules
are a resolver's (RFC 1123 names, RFC 1035 lengths, dotted-quad IPv4), not a house style: a name
that would reach DNS and could resolve is accepted, whether or not it resolves from here.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from .paths import path_problem

HOST_HINT = "write an IP address, e.g. 192.168.10.51, or a DNS name, e.g. display-3.branch.example"
SERIAL_HINT = "write the port's path, e.g. /dev/ttyUSB0, or socket://HOST:PORT for a serial server"
#: The URL schemes pyserial opens (serial.serial_for_url); any other `x://` never opens.
SERIAL_URL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")
_NETWORK_SERIAL = ("socket", "rfc2217")
#: RFC 1123 allows letters, digits and '-'. '_' too: branch DNS servers (Windows DNS) and
#: /etc/hosts serve names like `meter_1`, and glibc resolves them; refusing one would refuse a
#: config that works.
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def shown(text: str) -> str:
    """`text` quoted for a message, cut short when long, so one line stays one line."""
    return repr(text) if len(text) <= 48 else f"{text[:40]!r}... ({len(text)} characters)"


def _char(c: str) -> str:
    return "a space" if c == " " else f"the character U+{ord(c):04X}"


def _ipv4_problem(labels: list[str]) -> str:
    """Why dotted numbers are not an IPv4 address; a name cannot end in a number."""
    if len(labels) == 4 and all(p.isdigit() for p in labels):
        for p in labels:
            if int(p) > 255:
                return f"is not an IPv4 address: {p} is over 255"
            if len(p) > 1 and p.startswith("0"):
                return (
                    f"is not an IPv4 address: {p} has a leading zero, which some programs read "
                    f"as octal; write {int(p)}"
                )
    return (
        "is not an IPv4 address (four numbers 0-255, e.g. 192.168.10.51), and a host name "
        "cannot end in a number"
    )


def _name_problem(name: str) -> str | None:
    """Why an ASCII text is no IPv4 address or DNS name, or None."""
    body = name[:-1] if name.endswith(".") else name  # a rooted name `host.example.` is fine
    if len(body) > 253:
        return f"is {len(body)} characters long; a host name is at most 253"
    labels = body.split(".")
    if labels[-1].isdigit():
        try:
            ipaddress.IPv4Address(body)
        except ValueError:
            return _ipv4_problem(labels)
        return None
    for label in labels:
        if not label:
            return "has an empty label (two dots together, or a dot at the start or end)"
        if len(label) > 63:
            return f"has a label of {len(label)} characters; a DNS label is at most 63"
        bad = next((c for c in label if c not in _LABEL_CHARS), None)
        if bad is not None:
            return f"holds {bad!r}; a host name has only letters, digits, '-', '_' and dots"
        if label[0] == "-" or label[-1] == "-":
            return f"has a label {shown(label)} that starts or ends with '-'"
    return None


def host_problem(text: str) -> str | None:
    """Why `text` is no IPv4 or IPv6 address and no DNS name, or None when it is one."""
    if not text:
        return "is empty"
    bad = next((c for c in text if c.isspace() or not c.isprintable()), None)
    if bad is not None:
        return f"holds {_char(bad)}, which no host name can"
    if "://" in text:
        return "is a URL; write the host alone, without scheme, port or path"
    if text.startswith("["):
        return (
            "is in brackets; write an IPv6 address without them (e.g. fd00::51), a port in `port`"
        )
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            port = text.rpartition(":")[2]
            if text.count(":") == 1 and port.isdigit():
                return f"ends in a port (:{port}); write the host alone and the port in `port`"
            return "is not an IPv6 address, and a host name holds no ':'"
        return None
    if not text.isascii():
        try:  # what getaddrinfo does to a name before any lookup
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            return "is not a name the resolver can encode (IDNA); write its xn-- form"
    return _name_problem(text)


def serial_port_problem(text: str) -> str | None:
    """Why `text` names no serial port the drivers can open, or None. A relative path is
    looked up from the daemon's working folder; that works, so it is not refused here."""
    if not text:
        return "is empty"
    problem = path_problem(text)
    if problem is not None:
        return problem
    if "://" not in text:
        return None
    scheme = text.partition("://")[0].lower()
    if scheme not in SERIAL_URL_SCHEMES:
        name = scheme if scheme.isalnum() and len(scheme) < 20 else shown(scheme)
        return f"is a {name}:// URL, which no serial library opens"
    if scheme not in _NETWORK_SERIAL:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return f"has a port that is not a number from 1 to 65535; write {scheme}://HOST:PORT"
    if not parts.hostname:
        return f"names no host; write {scheme}://HOST:PORT"
    if (problem := host_problem(parts.hostname)) is not None:
        return f"has a host {shown(parts.hostname)} that {problem}"
    if not port:
        return f"names no port (1-65535); write {scheme}://HOST:PORT"
    return None


def refused(kind: str, message: str, hint: str) -> PydanticCustomError:
    """A validation error whose message is `message` as written and that carries a `hint`, which
    the config loader shows after it, as it does its own hints."""
    return PydanticCustomError(kind, "{message}", {"message": message, "hint": hint})


def _host(value: str) -> str:
    problem = host_problem(value)
    if problem is not None:
        raise refused("host_name", f"{shown(value)} {problem}", HOST_HINT)
    return value


def _ipv4_host(value: str) -> str:
    _host(value)
    if ":" in value:
        raise refused(
            "host_name",
            f"{shown(value)} is an IPv6 address; Wake-on-LAN is an IPv4 broadcast",
            "write the kiosk LAN's IPv4 broadcast address, e.g. 192.168.10.255",
        )
    return value


def _serial_port(value: str) -> str:
    problem = serial_port_problem(value)
    if problem is not None:
        raise refused("serial_port", f"{shown(value)} {problem}", SERIAL_HINT)
    return value


#: A host the driver connects to: an IPv4 or IPv6 address or a DNS name.
Host = Annotated[str, AfterValidator(_host)]
#: A host for IPv4-only traffic (a broadcast): an IPv4 address or a name.
IPv4Host = Annotated[str, AfterValidator(_ipv4_host)]
#: A serial port path (or a pyserial URL such as socket://HOST:PORT).
SerialPort = Annotated[str, AfterValidator(_serial_port)]
