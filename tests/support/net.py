"""Loopback helpers for tests: free ports (socat pty pairs are drivers.sdk.pty.PtyPair)."""

from __future__ import annotations

import socket

_GIVEN: set[int] = set()  # never hand out one port twice in a run: two peers would collide


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago and that no other caller in this run got."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port
    raise RuntimeError("no unused loopback port after 100 tries")
