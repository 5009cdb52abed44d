"""Waiting for CONNACK: a broker that closes the connection instead ends the attempt at once.

aiomqtt 2.x ignores a disconnect that comes before CONNACK (`Client._on_disconnect` returns
while `_connected` is pending), so it waits out `connect_timeout_s` for an answer that cannot
come. That is what a broker refusing our client certificate looks like under TLS 1.3: the
handshake completes on our side, paho sends CONNECT, and mosquitto's alert (`certificate
expired`, `unknown ca`, `certificate required`) arrives as the first read, which fails and closes
the socket. paho sees it: it logs OpenSSL's words through stdlib logging, then calls
on_disconnect. So `fail_before_connack` ends the wait there, with paho's words as the error
(`classify` then says `tls_failed`). Only a closed connection ends it: a broker that stays
silent is still given the whole `connect_timeout_s`.

`ClientLog` is the stdlib logger aiomqtt and paho write to. Unrouted, their lines reached the
journal as bare text beside ours (stdlib logging is not configured; its last resort prints
warnings to stderr). Here paho's lost-connection lines go to debug, as the uplink's own
`uplink_disconnected` says the same with a reason code; anything else keeps its level.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiomqtt

from drivers.sdk import Logger

#: paho 2.x's own words for a read that failed: the uplink logs their effect itself.
_CONNECTION_LOST = ("failed to receive on socket", "timeout on socket")


class _Forward(logging.Handler):
    def __init__(self, owner: ClientLog) -> None:
        super().__init__(logging.DEBUG)
        self._owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        self._owner.said(record)


class ClientLog:
    """One connect attempt's stdlib logger for aiomqtt and paho, forwarded to structlog; it
    keeps paho's last words about a lost connection for the attempt's error."""

    def __init__(self, log: Logger) -> None:
        self._log = log
        self.last_lost: str | None = None
        # One per attempt and not kept by `logging`, so no handlers pile up: not getLogger.
        self.logger = logging.Logger("edge_agent.uplink.mqtt", logging.WARNING)  # noqa: LOG001
        self.logger.propagate = False
        self.logger.addHandler(_Forward(self))

    def said(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError) as exc:  # a malformed format must not break paho's loop
            message = f"{record.msg!r} ({exc})"
        if message.startswith(_CONNECTION_LOST):
            self.last_lost = message
            self._log.debug("mqtt_client_log", level=record.levelname.lower(), message=message)
            return
        if record.levelno >= logging.ERROR:
            self._log.error("mqtt_client_log", message=message)
        else:
            self._log.warning("mqtt_client_log", message=message)


def fail_before_connack(client: aiomqtt.Client, words: ClientLog) -> None:
    """Make a disconnect before CONNACK fail `client.__aenter__` now, with paho's words."""
    paho: Any = client._client
    on_disconnect = paho.on_disconnect
    loop = asyncio.get_running_loop()

    def fail(pending: asyncio.Future[None]) -> None:
        if not pending.done():  # still waiting: CONNACK did not come in the meantime
            why = f": {words.last_lost}" if words.last_lost else ""
            closed = f"the broker closed the connection before answering CONNECT{why}"
            pending.set_exception(aiomqtt.MqttError(closed))

    def noted(c: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any = None) -> None:
        pending = getattr(client, "_connected", None)  # aiomqtt's wait for CONNACK
        on_disconnect(c, userdata, flags, reason_code, properties)
        if isinstance(pending, asyncio.Future) and not pending.done():
            loop.call_soon_threadsafe(fail, pending)  # paho may call from aiomqtt's connect thread

    paho.on_disconnect = noted


__all__ = ["ClientLog", "fail_before_connack"]
