"""Typed uplink errors, so callers can tell bad input from a lost link."""

from __future__ import annotations

from datetime import datetime


class UplinkError(Exception):
    """Base of every error the uplink raises on purpose."""


class PayloadError(UplinkError):
    """Bytes that are not a valid contract payload (bad JSON, wrong shape, bad compression)."""


class LinkDown(UplinkError):
    """The broker connection is gone or refused us; the caller reconnects with backoff."""


class CredentialsUnusable(LinkDown):
    """Our own password file cannot be read or is not text: no attempt can authenticate.

    Reported as `auth_failed`, as a driver reports an unusable secret file, since the fix is the
    same: the credentials. The message names the file, never its content.
    """


class PublishRefused(UplinkError):
    """The broker answered a publish with a failure reason code (MQTT 5 PUBACK >= 0x80).

    The session is healthy: only this message was refused (an ACL deny, a quota, a bad topic),
    so the caller keeps the link and keeps the items unsent instead of reconnecting.
    """

    def __init__(self, topic: str, reason_code: int, reason: str) -> None:
        super().__init__(f"broker refused a publish to {topic}: {reason} (0x{reason_code:02x})")
        self.topic, self.reason_code, self.reason = topic, reason_code, reason


class CertificateOutOfDate(LinkDown):
    """The TLS handshake failed because a certificate is not valid by this PC's clock.

    The message is the sentence an engineer acts on (tls_dates.py); `error` keeps the library's
    own words (OpenSSL's verify message), and `as_dict()` the facts for `status --json`.
    """

    def __init__(
        self,
        message: str,
        *,
        whose: str,
        problem: str,
        subject: str | None,
        not_before: datetime | None,
        not_after: datetime | None,
        clock: datetime,
        error: str,
    ) -> None:
        super().__init__(message)
        self.whose, self.problem, self.subject = whose, problem, subject
        self.not_before, self.not_after, self.clock, self.error = (
            not_before,
            not_after,
            clock,
            error,
        )

    def as_dict(self) -> dict[str, str | None]:
        def iso(when: datetime | None) -> str | None:
            return None if when is None else when.isoformat()

        return {
            "certificate": self.whose,  # broker | chain | ca | client | unknown
            "problem": self.problem,  # not_yet_valid | expired
            "subject": self.subject,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "clock": iso(self.clock),
            "error": self.error,
        }
