"""Typed uplink errors, so callers can tell bad input from a lost link."""

from __future__ import annotations


class UplinkError(Exception):
    """Base of every error the uplink raises on purpose."""


class PayloadError(UplinkError):
    """Bytes that are not a valid contract payload (bad JSON, wrong shape, bad compression)."""


class LinkDown(UplinkError):
    """The broker connection is gone or refused us; the caller reconnects with backoff."""


class PublishRefused(UplinkError):
    """The broker answered a publish with a failure reason code (MQTT 5 PUBACK >= 0x80).

    The session is healthy: only this message was refused (an ACL deny, a quota, a bad topic),
    so the caller keeps the link and keeps the items unsent instead of reconnecting.
    """

    def __init__(self, topic: str, reason_code: int, reason: str) -> None:
        super().__init__(f"broker refused a publish to {topic}: {reason} (0x{reason_code:02x})")
        self.topic, self.reason_code, self.reason = topic, reason_code, reason
