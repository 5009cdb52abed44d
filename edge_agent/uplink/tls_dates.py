"""Why a TLS connect failed on certificate dates, in words an engineer can act on.

OpenSSL says only "certificate verify failed: certificate is not yet valid": not which
certificate, nor its dates. A PC that starts with a stale clock (a flat RTC battery) meets this
before NTP can put it right, so the message names the dates and the PC's clock side by side.

Where the dates come from, and why: `ssl.SSLCertVerificationError` carries the verify code but no
certificate and no depth, Python 3.11 has no verify callback and no way to read the chain of a
failed handshake. So on a date failure (and only then) `TLSDiagnosis` makes a second, short
handshake to the same broker with verification off, reads the broker's certificate (and, on
Python 3.13+, the chain it sends), and follows issuers into the configured CA certificates to find
the one out of date. That handshake sends nothing but what the real one sends (our client
certificate, with mTLS), never MQTT credentials, and is reused for a minute, so a PC that retries
every second does not double its handshakes. If the probe fails, the sentence still says what
OpenSSL said, in plain words, without dates.

Our own client certificate (mTLS) is read from `cert_file`: a broker that rejects it only closes
the connection (mosquitto), so the agent names it only when its own dates say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime

from edge_agent.settings.uplink import MQTTSettings

from .errors import CertificateOutOfDate
from .x509 import CertificateDates, CertificateParseError, certificate_dates, pem_certificates

NOT_YET_VALID, EXPIRED = 9, 10  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
#: OpenSSL's verify messages for those codes, for an error that arrives as text only.
_NAMES = {NOT_YET_VALID: "not_yet_valid", EXPIRED: "expired"}
_MESSAGES = {"certificate is not yet valid": NOT_YET_VALID, "certificate has expired": EXPIRED}
PROBE_TIMEOUT_S = 5.0
REUSE_S = 60.0
_MAX_CHAIN = 8


def date_problem(exc: BaseException) -> tuple[int, str] | None:
    """(verify code, OpenSSL's text) when `exc`, or an error it was raised from, is a
    certificate date failure. aiomqtt re-raises the ssl error as text (`from None`), so the
    chain is followed through `__context__` too, and the text is the fallback."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError) and seen.verify_code in _NAMES:
            return seen.verify_code, str(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    for words, code in _MESSAGES.items():
        if words in text:
            return code, text
    return None


def utc_minute(when: datetime) -> str:
    """`2027-01-05 10:00 UTC`: what an engineer compares with `date -u`."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def sentence(whose: str, code: int, cert: CertificateDates | None, now: datetime) -> str:
    """The line `status` shows: which certificate, its date, the PC's clock, and what to do."""
    clock = f"this PC's clock says {utc_minute(now)}"
    if _as_it_is(code, cert, now) == NOT_YET_VALID:
        when = f"is not valid until {utc_minute(cert.not_before)}" if cert else "is not valid yet"
        return f"{whose} {when} and {clock}: set the clock (or NTP) right"
    when = f"expired on {utc_minute(cert.not_after)}" if cert else "has expired"
    return f"{whose} {when} and {clock}: renew it, or check the clock"


def _as_it_is(code: int, cert: CertificateDates | None, now: datetime) -> int:
    """`code`, unless `cert` is out of date the other way (the one found when no certificate on
    the path is out of date as OpenSSL said): its dates are what the sentence shows."""
    if cert is None or cert.valid_at(now) or _is_bad(cert, code, now):
        return code
    return NOT_YET_VALID if now < cert.not_before else EXPIRED


def _is_bad(cert: CertificateDates, code: int, now: datetime) -> bool:
    return now < cert.not_before if code == NOT_YET_VALID else now > cert.not_after


def culprit(
    code: int, peer: list[CertificateDates], cas: list[CertificateDates], now: datetime
) -> tuple[str, CertificateDates] | None:
    """The certificate OpenSSL complained about: the first out of date on the path from the
    broker's certificate up through its issuers (sent by the broker, else the CA file). Where
    several certificates could be the issuer, one in date wins, as OpenSSL picks it."""
    if not peer:
        return None
    path = [("broker", peer[0])]
    pool = [("chain", c) for c in peer[1:]] + [("ca", c) for c in cas]
    current = peer[0]
    for _ in range(_MAX_CHAIN):
        if current.issuer == current.subject:
            break
        issuers = [(w, c) for w, c in pool if c.subject == current.issuer and c is not current]
        if not issuers:
            break
        step = next(((w, c) for w, c in issuers if c.valid_at(now)), issuers[0])
        path.append(step)
        current = step[1]
    return next(((w, c) for w, c in path if _is_bad(c, code, now)), None) or next(
        ((w, c) for w, c in path if not c.valid_at(now)), None
    )


def _parsed(ders: list[bytes]) -> list[CertificateDates]:
    out = []
    for der in ders:
        with contextlib.suppress(CertificateParseError):
            out.append(certificate_dates(der))
    return out


class TLSDiagnosis:
    """Turns a failed TLS connect into `CertificateOutOfDate` when dates are the cause."""

    def __init__(
        self,
        settings: MQTTSettings,
        *,
        now: Callable[[], float] = time.time,  # the clock OpenSSL compared with
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings, self._now, self._monotonic = settings, now, monotonic
        self._peer: tuple[float, list[bytes]] | None = None

    async def explain(self, exc: BaseException, ctx: ssl.SSLContext) -> CertificateOutOfDate | None:
        """The sentence for `exc`, or None when certificate dates are not why it failed."""
        now = datetime.fromtimestamp(self._now(), UTC)
        found = date_problem(exc)
        if found is None:
            return self._own_certificate(now, str(exc))
        code, openssl = found
        peer = _parsed(await self._peer_chain())
        cas = _parsed(ctx.get_ca_certs(binary_form=True))
        hit = culprit(code, peer, cas, now)
        if hit is None:
            return self._error("a certificate in the broker's chain", code, None, now, openssl)
        whose, cert = hit
        ca_file = self._settings.tls.ca_file if self._settings.tls else None
        name = f"'{cert.subject_cn}'" if cert.subject_cn else "(no CN)"
        words = {
            "broker": "the broker's certificate",
            "chain": f"the certificate {name} in the broker's chain",
            "ca": f"the CA certificate {name}" + (f" in {ca_file}" if ca_file else ""),
        }[whose]
        return self._error(words, code, cert, now, openssl, whose=whose)

    def _error(
        self,
        words: str,
        code: int,
        cert: CertificateDates | None,
        now: datetime,
        error: str,
        *,
        whose: str = "unknown",
    ) -> CertificateOutOfDate:
        return CertificateOutOfDate(
            sentence(words, code, cert, now),
            whose=whose,
            problem=_NAMES[_as_it_is(code, cert, now)],
            subject=cert.subject_cn if cert else None,
            not_before=cert.not_before if cert else None,
            not_after=cert.not_after if cert else None,
            clock=now,
            error=error,
        )

    def _own_certificate(self, now: datetime, error: str) -> CertificateOutOfDate | None:
        """Our mTLS certificate, when its own dates say the broker will refuse it."""
        tls = self._settings.tls
        if tls is None or tls.cert_file is None:
            return None
        try:
            certs = _parsed(pem_certificates(tls.cert_file.read_bytes()))
        except OSError:
            return None  # the real connect already said the file is unusable
        if not certs or certs[0].valid_at(now):
            return None
        code = NOT_YET_VALID if now < certs[0].not_before else EXPIRED
        words = f"this gateway's own certificate ({tls.cert_file})"
        return self._error(words, code, certs[0], now, error, whose="client")

    async def _peer_chain(self) -> list[bytes]:
        """The broker's certificate and the chain it sends (3.13+), unverified; [] on failure."""
        at = self._monotonic()
        if self._peer is not None and at - self._peer[0] < REUSE_S:
            return self._peer[1]
        chain: list[bytes] = []
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError, ValueError):
            chain = await self._handshake()
        self._peer = (at, chain)
        return chain

    async def _handshake(self) -> list[bytes]:
        s = self._settings
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # only to read dates; nothing is sent over it
        if s.tls is not None and s.tls.cert_file and s.tls.key_file:
            ctx.load_cert_chain(str(s.tls.cert_file), str(s.tls.key_file))
        timeout = min(PROBE_TIMEOUT_S, s.connect_timeout_s)
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(s.host, s.port, ssl=ctx)
        try:
            tls = writer.get_extra_info("ssl_object")
            unverified = getattr(tls, "get_unverified_chain", None)  # Python 3.13+
            chain = list(unverified()) if unverified is not None else []
            ders = [c for c in chain if isinstance(c, bytes)]
            if not ders:
                leaf = tls.getpeercert(binary_form=True) if tls is not None else None
                ders = [leaf] if leaf else []
            return ders
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()


__all__ = ["EXPIRED", "NOT_YET_VALID", "TLSDiagnosis", "culprit", "date_problem", "sentence"]
