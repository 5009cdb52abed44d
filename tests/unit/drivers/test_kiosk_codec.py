"""Kiosk codecs: Wake-on-LAN packets, health JSON and body templates."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.kiosk.codec import (
    HealthFormatError,
    WakePacketError,
    build_wol,
    parse_health,
    parse_mac,
    parse_wol,
    render_body,
)
from drivers.sdk import DriverError, InvalidArgument, ProtocolError

MAC = bytes.fromhex("001b638445e6")


def test_magic_packet_is_six_ff_then_the_mac_sixteen_times() -> None:
    packet = build_wol(MAC)
    assert len(packet) == 102
    assert packet[:6] == b"\xff" * 6
    assert all(packet[6 + 6 * n : 12 + 6 * n] == MAC for n in range(16))


@pytest.mark.parametrize("text", ["00:1b:63:84:45:e6", "00-1B-63-84-45-E6", "001b638445e6"])
def test_common_mac_spellings_are_accepted(text: str) -> None:
    assert parse_mac(text) == MAC


@pytest.mark.parametrize("text", ["00:1b:63:84:45", "00:1b-63:84:45:e6", "zz:1b:63:84:45:e6", ""])
def test_bad_mac_is_an_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument, match="not a MAC"):
        parse_mac(text)


def test_packet_with_secureon_password_still_names_the_mac() -> None:
    assert parse_wol(build_wol(MAC) + b"\x01\x02\x03\x04\x05\x06") == MAC


def test_magic_packet_with_bytes_around_it_still_names_the_mac() -> None:
    assert parse_wol(b"\x00header\xff" + build_wol(MAC) + b"\x00" * 30) == MAC


def test_packet_mixing_two_macs_is_rejected() -> None:
    packet = bytearray(build_wol(MAC))
    packet[-1] ^= 0xFF
    with pytest.raises(WakePacketError, match="16 times"):
        parse_wol(bytes(packet))


def test_health_state_key_picks_nested_object() -> None:
    body = b'{"ok": true, "data": {"kiosk": {"status": "ok", "version": "4.2"}}}'
    assert parse_health(body, "data.kiosk") == {"status": "ok", "version": "4.2"}


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        (b"<html>502 Bad Gateway</html>", None, "not JSON"),
        (b"[1, 2]", None, "not an object"),
        (b'{"data": {}}', "data.kiosk", "no 'data.kiosk'"),
        (b'{"data": 3}', "data", "not an object"),
        (b'{"status": "ok", "temp": NaN}', None, "not JSON"),  # Python would take it; JSON not
        (b'{"uptime": Infinity}', None, "not JSON"),
    ],
)
def test_bad_health_bodies_say_what_is_wrong(body: bytes, key: str | None, words: str) -> None:
    with pytest.raises(HealthFormatError, match=words):
        parse_health(body, key)


def test_body_template_keeps_argument_types_and_formats_strings() -> None:
    template = {"name": "{name}", "level": "{level}", "note": "scene {name} at {level}", "fixed": 1}
    assert render_body(template, {"name": "promo", "level": 70}) == {
        "name": "promo", "level": 70, "note": "scene promo at 70", "fixed": 1,
    }  # fmt: skip


def test_body_template_missing_argument_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="'name'"):
        render_body({"name": "{name}"}, {})


@given(st.binary(max_size=120))
def test_arbitrary_bytes_as_wol_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_wol(data)


@given(st.binary(min_size=6, max_size=6))
def test_every_mac_round_trips_through_a_magic_packet(mac: bytes) -> None:
    assert parse_wol(build_wol(mac)) == mac


@given(st.binary(max_size=200), st.one_of(st.none(), st.text(max_size=10)))
def test_arbitrary_health_bodies_raise_only_protocol_errors(body: bytes, key: str | None) -> None:
    with contextlib.suppress(ProtocolError):
        assert isinstance(parse_health(body, key), dict)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(_JSON, st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_templates_raise_only_driver_errors(template: object, args: dict[str, int]) -> None:
    with contextlib.suppress(DriverError):
        render_body(template, args)
