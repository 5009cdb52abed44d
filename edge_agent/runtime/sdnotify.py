"""sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET per message."""

from __future__ import annotations

import os
import socket

import structlog

log = structlog.get_logger("edge_agent.runtime")


def notify(message: str) -> bool:
    """Send e.g. "READY=1" or "STATUS=..." to systemd. Returns False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode(), address)
    except OSError as exc:
        log.warning("sd_notify_failed", error=str(exc), message=message.split("=", 1)[0])
        return False
    return True


def watchdog_interval_s(default: float) -> float:
    """Half of systemd's WatchdogSec when set (WATCHDOG_USEC), else `default`."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if usec and (pid is None or pid == str(os.getpid())):
        try:
            return max(0.5, int(usec) / 2_000_000)
        except ValueError:
            pass
    return default
