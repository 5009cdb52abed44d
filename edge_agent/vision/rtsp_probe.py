"""RTSP probe: OpenCV only says "could not open"; one DESCRIBE with the URL's credentials (Basic or
Digest, as the server asks) tells a wrong password from a dead camera or an undecodable stream.
Plain sockets, no OpenCV; the capture calls it when a network camera will not open."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import time
from typing import Literal
from urllib.parse import unquote, urlsplit

#: What the probe can tell: the capture's reason codes for a camera that will not open.
ProbeResult = Literal["no_signal", "auth_failed", "decode_error"]

_STATUS = re.compile(rb"^RTSP/1\.0 (\d{3})")
_CHALLENGE = re.compile(rb"^WWW-Authenticate:\s*(\w+)\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_PARAM = re.compile(r'(\w+)="([^"]*)"')
MAX_REPLY = 16384


def _digest(user: str, password: str, params: dict[str, str], uri: str) -> str:
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
    ha2 = hashlib.md5(f"DESCRIBE:{uri}".encode(), usedforsecurity=False).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode(), usedforsecurity=False).hexdigest()
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    return f'Digest {fields}, response="{response}"'


def _describe(sock: socket.socket, uri: str, cseq: int, auth: str | None, deadline: float) -> bytes:
    lines = [
        f"DESCRIBE {uri} RTSP/1.0",
        f"CSeq: {cseq}",
        "Accept: application/sdp",
        "User-Agent: edge-agent-probe",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply and len(reply) < MAX_REPLY:
        left = deadline - time.monotonic()  # a camera trickling bytes must not hold us longer
        if left <= 0:
            raise TimeoutError("RTSP reply not complete within the probe's time")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply


def probe_rtsp(url: str, timeout_s: float = 3.0) -> ProbeResult:
    """Classify why an RTSP URL would not open, within about `timeout_s`. Never raises; never
    logs the password."""
    deadline = time.monotonic() + timeout_s
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 554
    except ValueError:  # an unclosed IPv6 bracket, a port that is not 0-65535
        return "no_signal"
    if not host:
        return "no_signal"
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    netloc = host if ":" not in host else f"[{host}]"
    uri = f"{parts.scheme}://{netloc}:{port}{parts.path or '/'}" + (
        f"?{parts.query}" if parts.query else ""
    )
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            reply = _describe(sock, uri, 1, None, deadline)
            status = _STATUS.match(reply)
            if status and status.group(1) == b"401" and user:
                challenge = _CHALLENGE.search(reply)
                scheme = (
                    challenge.group(1).decode(errors="replace").lower() if challenge else "basic"
                )
                if scheme == "digest" and challenge:
                    params = dict(_PARAM.findall(challenge.group(2).decode(errors="replace")))
                    auth = _digest(user, password, params, uri)
                else:
                    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                reply = _describe(sock, uri, 2, auth, deadline)
                status = _STATUS.match(reply)
    except (OSError, ValueError):  # ValueError: a host IDNA cannot encode, a NUL, a surrogate
        return "no_signal"
    if status is None:
        return "no_signal"
    code = int(status.group(1))
    if code == 401:
        return "auth_failed"
    if 200 <= code < 300:
        return "decode_error"
    return "no_signal"
