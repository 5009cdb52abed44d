"""Just enough of an X.509 certificate to say when it is valid: notBefore, notAfter, who it names.

The standard library verifies certificates but does not parse one given as bytes (only
`getpeercert()` of a verified peer, and a private test helper for files), and the agent carries no
crypto library. A certificate is DER: nested tag-length-value triples. Validity, issuer and
subject sit at fixed places in the first sequence, so a short, strict walk finds them; anything
that is not shaped so raises `CertificateParseError` (the caller then says less, never crashes).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_SEQUENCE, _SET, _INTEGER, _OID = 0x30, 0x31, 0x02, 0x06
_VERSION = 0xA0  # [0] EXPLICIT, present from v2 on
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_CN = bytes.fromhex("550403")  # 2.5.4.3 commonName
_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be"}
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)


class CertificateParseError(ValueError):
    """Bytes that are not a DER certificate of the expected shape."""


@dataclass(frozen=True, slots=True)
class CertificateDates:
    """When a certificate is valid, whom it names, and who signed it (raw DER names, so a chain
    can be followed by comparing bytes, as OpenSSL does after normalising)."""

    not_before: datetime
    not_after: datetime
    subject_cn: str | None
    subject: bytes
    issuer: bytes

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after


def _tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at `pos`, within `buf[:end]`."""
    if pos + 2 > end:
        raise CertificateParseError("truncated element")
    tag, size = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:
        raise CertificateParseError("multi-byte tags do not occur in a certificate")
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or pos + count > end:
            raise CertificateParseError("bad length")
        size = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if pos + size > end:
        raise CertificateParseError("element runs past its container")
    return tag, pos, pos + size


def _expect(buf: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    got, start, stop = _tlv(buf, pos, end)
    if got != tag:
        raise CertificateParseError(f"expected tag 0x{tag:02x}, found 0x{got:02x}")
    return start, stop


def asn1_time(tag: int, raw: bytes) -> datetime:
    """An RFC 5280 UTCTime (`YYMMDDHHMMSSZ`, 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`)."""
    if tag == _UTC_TIME and len(raw) == 13:
        text, year_digits = raw, 2
    elif tag == _GENERALIZED_TIME and len(raw) == 15:
        text, year_digits = raw, 4
    else:
        raise CertificateParseError(f"not a certificate time: tag 0x{tag:02x}, {raw!r}")
    if not (text.endswith(b"Z") and text[:-1].isdigit()):
        raise CertificateParseError(f"not a certificate time: {raw!r}")
    year = int(text[:year_digits])
    if year_digits == 2:
        year += 1900 if year >= 50 else 2000
    month, day, hour, minute, second = (
        int(text[i : i + 2]) for i in range(year_digits, year_digits + 10, 2)
    )
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:  # month 13, 31 February, hour 24...
        raise CertificateParseError(f"not a certificate time: {raw!r}") from exc


def _common_name(buf: bytes, start: int, end: int) -> str | None:
    """The first CN of a Name (SEQUENCE OF SET OF SEQUENCE {OID, value})."""
    pos = start
    while pos < end:
        set_start, set_end = _expect(buf, pos, end, _SET)
        pos = set_end
        inner = set_start
        while inner < set_end:
            attr_start, attr_end = _expect(buf, inner, set_end, _SEQUENCE)
            inner = attr_end
            oid_start, oid_end = _expect(buf, attr_start, attr_end, _OID)
            if buf[oid_start:oid_end] != _CN:
                continue
            tag, v_start, v_end = _tlv(buf, oid_end, attr_end)
            return buf[v_start:v_end].decode(_STRINGS.get(tag, "utf-8"), errors="replace")
    return None


def certificate_dates(der: bytes) -> CertificateDates:
    """Validity, subject CN and raw names of a DER certificate."""
    end = len(der)
    cert_start, cert_end = _expect(der, 0, end, _SEQUENCE)
    tbs_start, tbs_end = _expect(der, cert_start, cert_end, _SEQUENCE)
    pos = tbs_start
    tag, _, stop = _tlv(der, pos, tbs_end)
    if tag == _VERSION:
        pos = stop
    pos = _expect(der, pos, tbs_end, _INTEGER)[1]  # serial number
    pos = _expect(der, pos, tbs_end, _SEQUENCE)[1]  # signature algorithm
    issuer_start, pos = _expect(der, pos, tbs_end, _SEQUENCE)
    issuer = der[issuer_start:pos]
    validity_start, pos = _expect(der, pos, tbs_end, _SEQUENCE)
    tag, t_start, t_end = _tlv(der, validity_start, pos)
    not_before = asn1_time(tag, der[t_start:t_end])
    tag, t_start, t_end = _tlv(der, t_end, pos)
    not_after = asn1_time(tag, der[t_start:t_end])
    subject_start, subject_end = _expect(der, pos, tbs_end, _SEQUENCE)
    return CertificateDates(
        not_before=not_before,
        not_after=not_after,
        subject_cn=_common_name(der, subject_start, subject_end),
        subject=der[subject_start:subject_end],
        issuer=issuer,
    )


def pem_certificates(pem: bytes) -> list[bytes]:
    """The DER bytes of every `CERTIFICATE` block in a PEM file, in order; bad blocks skipped."""
    out = []
    for block in _PEM.findall(pem):
        try:
            out.append(base64.b64decode(b"".join(block.split()), validate=True))
        except (binascii.Error, ValueError):
            continue
    return out


__all__ = [
    "CertificateDates",
    "CertificateParseError",
    "asn1_time",
    "certificate_dates",
    "pem_certificates",
]
