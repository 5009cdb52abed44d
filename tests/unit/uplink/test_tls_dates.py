"""Reading a certificate's dates (uplink/x509.py) and the sentence `status` builds from them
(uplink/tls_dates.py): fuzzed, checked against certificates the `openssl` CLI made and against the
standard library's own reading of them."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.uplink.tls_dates import EXPIRED, NOT_YET_VALID, culprit, date_problem, sentence
from edge_agent.uplink.x509 import (
    CertificateParseError,
    asn1_time,
    certificate_dates,
    pem_certificates,
)

UTC_TIME, GENERALIZED_TIME = 0x17, 0x18


def tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    size = bytes([n]) if n < 0x80 else bytes([0x80 | 2]) + n.to_bytes(2, "big")
    return bytes([tag]) + size + value


def encode_time(when: datetime) -> bytes:
    """As RFC 5280 says: UTCTime through 2049, GeneralizedTime from 2050."""
    if 1950 <= when.year <= 2049:
        return tlv(UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(GENERALIZED_TIME, f"{when.year:04d}{when.strftime('%m%d%H%M%S')}Z".encode())


def name(cn: str) -> bytes:
    attr = tlv(0x30, tlv(0x06, bytes.fromhex("550403")) + tlv(0x0C, cn.encode()))
    return tlv(0x30, tlv(0x31, attr))


def certificate(begins: datetime, ends: datetime, *, subject: str, issuer: str) -> bytes:
    """A DER certificate shaped as X.509 v3 (the signature is not checked by the reader)."""
    tbs = (
        tlv(0xA0, tlv(0x02, b"\x02"))
        + tlv(0x02, b"\x01\x23")
        + tlv(0x30, tlv(0x06, bytes.fromhex("2a8648ce3d040302")))
        + name(issuer)
        + tlv(0x30, encode_time(begins) + encode_time(ends))
        + name(subject)
        + tlv(0x30, b"\x00" * 150)  # subjectPublicKeyInfo stand-in; long form length above
    )
    return tlv(0x30, tlv(0x30, tbs) + tlv(0x30, b"") + tlv(0x03, b"\x00"))


seconds = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0, tzinfo=UTC))
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


@given(seconds)
def test_every_certificate_time_reads_back_as_written(when: datetime) -> None:
    raw = encode_time(when)
    assert asn1_time(raw[0], raw[2:]) == when


@given(st.integers(0, 255), st.binary(max_size=20))
def test_anything_else_given_as_a_time_is_refused_with_a_parse_error(tag: int, raw: bytes) -> None:
    try:
        got = asn1_time(tag, raw)
    except CertificateParseError:
        return
    assert got.tzinfo is UTC and raw.endswith(b"Z")


@given(seconds, seconds, names, names)
def test_dates_and_names_read_back_from_a_certificate(
    begins: datetime, ends: datetime, subject: str, issuer: str
) -> None:
    got = certificate_dates(certificate(begins, ends, subject=subject, issuer=issuer))
    assert (got.not_before, got.not_after, got.subject_cn) == (begins, ends, subject)
    assert (got.issuer == got.subject) is (issuer == subject)  # a chain is followed by names


@given(st.binary(max_size=400))
def test_garbage_is_refused_with_a_parse_error_and_nothing_else(junk: bytes) -> None:
    with contextlib.suppress(CertificateParseError):
        certificate_dates(junk)


@given(seconds, seconds, st.integers(0, 400), st.binary(max_size=4))
def test_a_certificate_cut_short_or_altered_is_refused_or_read(
    begins: datetime, ends: datetime, cut: int, flip: bytes
) -> None:
    der = bytearray(certificate(begins, ends, subject="broker", issuer="ca"))
    der = der[: len(der) - cut] if cut < len(der) else der[:1]
    for i, b in enumerate(flip):
        der[(i * 37) % len(der)] ^= b
    with contextlib.suppress(CertificateParseError):
        certificate_dates(bytes(der))


def test_pem_files_give_every_certificate_and_skip_a_broken_block() -> None:
    a, b = (certificate(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
                        subject=s, issuer="ca") for s in ("a", "b"))  # fmt: skip
    pem = b"\n".join(
        [ssl.DER_cert_to_PEM_cert(a).encode(), b"-----BEGIN CERTIFICATE-----\n!!not base64\n"
         b"-----END CERTIFICATE-----", ssl.DER_cert_to_PEM_cert(b).encode()]
    )  # fmt: skip
    assert pem_certificates(pem) == [a, b]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
@pytest.mark.parametrize("days", [1, 30000])  # 30000 days: notAfter is a GeneralizedTime
def test_certificates_openssl_made_read_as_the_standard_library_reads_them(
    tmp_path: Path, days: int
) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", str(days), "-subj", "/O=HQ/CN=hq-ca"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    [der] = pem_certificates((tmp_path / "c.pem").read_bytes())
    got = certificate_dates(der)
    stdlib = ssl._ssl._test_decode_cert(str(tmp_path / "c.pem"))  # type: ignore[attr-defined]
    assert got.not_before.timestamp() == ssl.cert_time_to_seconds(stdlib["notBefore"])
    assert got.not_after.timestamp() == ssl.cert_time_to_seconds(stdlib["notAfter"])
    assert got.subject_cn == "hq-ca" and got.subject == got.issuer  # self-signed


NOW = datetime(2026, 11, 29, 17, 40, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def dated(begins: datetime, ends: datetime, subject: str, issuer: str):  # type: ignore[no-untyped-def]
    return certificate_dates(certificate(begins, ends, subject=subject, issuer=issuer))


def test_the_sentence_names_the_date_the_clock_and_what_to_do() -> None:
    broker = dated(datetime(2027, 1, 5, 10, tzinfo=UTC), NOW + 400 * DAY, "broker", "ca")
    assert sentence("the broker's certificate", NOT_YET_VALID, broker, NOW) == (
        "the broker's certificate is not valid until 2027-01-05 10:00 UTC and this PC's clock "
        "says 2026-11-29 17:40 UTC: set the clock (or NTP) right"
    )
    old = dated(NOW - 400 * DAY, datetime(2026, 11, 1, tzinfo=UTC), "broker", "ca")
    assert sentence("the broker's certificate", EXPIRED, old, NOW) == (
        "the broker's certificate expired on 2026-11-01 00:00 UTC and this PC's clock says "
        "2026-11-29 17:40 UTC: renew it, or check the clock"
    )


def test_a_certificate_out_of_date_the_other_way_is_told_by_its_own_dates() -> None:
    """OpenSSL said "not yet valid" of a certificate the agent could not see, and the one out of
    date on the path it can see has expired: the sentence must not send the engineer to set the
    clock back to a start date that has passed."""
    leaf = dated(NOW - DAY, NOW + DAY, "broker", "hq-ca")
    expired = dated(NOW - 9 * DAY, datetime(2026, 11, 28, tzinfo=UTC), "hq-ca", "hq-ca")
    whose, cert = culprit(NOT_YET_VALID, [leaf], [expired], NOW) or ("", None)
    assert (whose, cert) == ("ca", expired)
    assert sentence("the CA certificate 'hq-ca'", NOT_YET_VALID, cert, NOW) == (
        "the CA certificate 'hq-ca' expired on 2026-11-28 00:00 UTC and this PC's clock says "
        "2026-11-29 17:40 UTC: renew it, or check the clock"
    )


@given(st.integers(1, 20000), st.integers(1, 20000), st.booleans())
def test_the_out_of_date_certificate_is_found_up_the_chain(
    ahead_s: int, span_days: int, ca_is_bad: bool
) -> None:
    """The leaf is fine and the CA in the CA file is not (or the other way round): the sentence
    is about the one that is out of date, as OpenSSL's error was."""
    good = (NOW - span_days * DAY, NOW + span_days * DAY)
    future = (NOW + timedelta(seconds=ahead_s), NOW + span_days * DAY + timedelta(seconds=ahead_s))
    leaf = dated(*(good if ca_is_bad else future), "broker", "hq-ca")
    ca = dated(*(future if ca_is_bad else good), "hq-ca", "hq-ca")
    unrelated = dated(*future, "someone-else", "someone-else")
    whose, cert = culprit(NOT_YET_VALID, [leaf], [unrelated, ca], NOW) or ("", None)
    assert (whose, cert) == (("ca", ca) if ca_is_bad else ("broker", leaf))


def test_an_in_date_copy_of_the_ca_wins_over_an_expired_one() -> None:
    leaf = dated(NOW - DAY, NOW + DAY, "broker", "hq-ca")
    expired = dated(NOW - 9 * DAY, NOW - DAY, "hq-ca", "hq-ca")
    renewed = dated(NOW - DAY, NOW + 9 * DAY, "hq-ca", "hq-ca")
    assert culprit(EXPIRED, [leaf], [expired, renewed], NOW) is None
    assert culprit(EXPIRED, [leaf], [expired], NOW) == ("ca", expired)


def test_date_failures_are_told_from_other_tls_failures_by_code_or_text() -> None:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed: certificate has expired")
    err.verify_code, err.verify_message = 10, "certificate has expired"
    try:
        try:
            raise err
        except ssl.SSLError as inner:
            raise RuntimeError(str(inner)) from None  # as aiomqtt re-raises it
    except RuntimeError as outer:
        assert date_problem(outer) == (EXPIRED, str(err))
    assert date_problem(RuntimeError("x: certificate is not yet valid (_ssl.c:1006)")) is not None
    assert date_problem(RuntimeError("certificate verify failed: self-signed certificate")) is None
