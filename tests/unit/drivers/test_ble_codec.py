"""iBeacon / Eddystone codec: known frames decode exactly; any bytes fail only with our error."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ble.codec import (
    APPLE_COMPANY_ID,
    EDDYSTONE_UUID,
    BeaconParseError,
    EddystoneTLM,
    EddystoneUID,
    EddystoneURL,
    IBeacon,
    build_eddystone,
    build_ibeacon,
    decode_url,
    encode_url,
    parse_advertisement,
    parse_eddystone,
    parse_ibeacon,
)
from drivers.sdk import ProtocolError

# An Estimote-style iBeacon exactly as it appears after the 0x004C company id.
IBEACON_BYTES = bytes.fromhex("0215b9407f30f5f8466eaff925556b57fe6d00070102c5")


def test_ibeacon_from_wire_bytes_gives_uuid_major_minor_and_tx_power() -> None:
    frame = parse_ibeacon(IBEACON_BYTES)
    assert frame == IBeacon(
        uuid="b9407f30-f5f8-466e-aff9-25556b57fe6d", major=7, minor=258, tx_power=-59
    )


def test_eddystone_uid_frame_gives_namespace_and_instance() -> None:
    data = bytes.fromhex("00ecedd1ebeac04e5defa0170badc0ffee010000")
    assert parse_eddystone(data) == EddystoneUID("edd1ebeac04e5defa017", "0badc0ffee01", -20)


def test_eddystone_url_expands_scheme_and_suffix_codes() -> None:
    # 0x03 = "https://", "bank" then 0x07 = ".com", "/x"
    data = bytes([0x10, 0xEB, 0x03]) + b"bank" + bytes([0x07]) + b"/x"
    assert parse_eddystone(data) == EddystoneURL(url="https://bank.com/x", tx_power=-21)


def test_eddystone_tlm_gives_battery_temperature_count_and_uptime() -> None:
    data = bytes.fromhex("20000bb81680000003e800000064")
    assert parse_eddystone(data) == EddystoneTLM(
        battery_mv=3000, temperature_c=22.5, adv_count=1000, uptime_s=10.0
    )


def test_tlm_without_temperature_sensor_reports_none() -> None:
    data = bytes.fromhex("2000000080000000000100000001")
    assert parse_eddystone(data).temperature_c is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (IBEACON_BYTES[:-1], "want 23"),
        (bytes([0x30, 0x00]), "unknown Eddystone frame type 0x30"),
        (bytes.fromhex("2001") + bytes(12), "not plain telemetry"),
        (bytes([0x10, 0x00, 0x09]), "no valid scheme"),
        (bytes([0x10, 0x00, 0x00, 0x0F]), "reserved byte 0x0f"),
    ],
)
def test_malformed_frames_name_what_is_wrong(data: bytes, words: str) -> None:
    parser = parse_ibeacon if data.startswith(b"\x02\x15") else parse_eddystone
    with pytest.raises(BeaconParseError, match=words):
        parser(data)


def test_other_apple_adverts_are_ignored_not_errors() -> None:
    # AirDrop / Find My adverts share company id 0x004C but are not iBeacons.
    assert parse_advertisement({APPLE_COMPANY_ID: bytes.fromhex("1005031c")}, {}) == []


def test_one_advert_can_carry_both_ibeacon_and_eddystone() -> None:
    uid = EddystoneUID("00112233445566778899", "aabbccddeeff", -10)
    frames = parse_advertisement(
        {APPLE_COMPANY_ID: IBEACON_BYTES}, {EDDYSTONE_UUID: build_eddystone(uid)}
    )
    assert frames == [parse_ibeacon(IBEACON_BYTES), uid]


def test_url_longer_than_17_encoded_bytes_is_refused() -> None:
    with pytest.raises(BeaconParseError, match="more than 17"):
        encode_url("https://a-very-long-branch-name.example/path")


@given(
    uuid_bytes=st.binary(min_size=16, max_size=16),
    major=st.integers(0, 0xFFFF),
    minor=st.integers(0, 0xFFFF),
    tx=st.integers(-128, 127),
)
def test_ibeacon_round_trips(uuid_bytes: bytes, major: int, minor: int, tx: int) -> None:
    frame = IBeacon(str(uuid.UUID(bytes=uuid_bytes)), major, minor, tx)
    assert parse_ibeacon(build_ibeacon(frame)) == frame


_URL_CHARS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12)


@given(
    scheme=st.sampled_from(["http://", "https://", "http://www.", "https://www."]), rest=_URL_CHARS
)
def test_urls_that_fit_round_trip(scheme: str, rest: str) -> None:
    url = scheme + rest
    try:
        encoded = encode_url(url)
    except BeaconParseError:
        return  # too long once encoded: refusing is the right answer
    assert decode_url(encoded) == url


@given(st.binary(max_size=40))
def test_arbitrary_eddystone_bytes_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_eddystone(data)


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_arbitrary_adverts_raise_only_protocol_errors(apple: bytes, feaa: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_advertisement({APPLE_COMPANY_ID: apple}, {EDDYSTONE_UUID: feaa})
