"""Whatever bytes a projector (or anyone on the LAN) sends, the PJLink parsers raise only
ProtocolError, so the supervisor sees `protocol_error` and never a crash."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.pjlink import codec, values
from drivers.sdk import ProtocolError

BYTE_PARSERS: list[Callable[[bytes], Any]] = [
    codec.parse_greeting,
    codec.parse_response,
    values.parse_notification,
    values.parse_ackn,
]
TEXT_PARSERS: list[Callable[[str], Any]] = [
    values.decode_power,
    values.decode_errors,
    values.decode_lamps,
    values.decode_mute,
    values.decode_input,
    values.decode_input_list,
    values.decode_class,
    values.decode_mac,
]

# Random bytes, plus bytes that start like PJLink so the fuzzer gets past the first check.
pjlinkish = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda head, body: head + body,
        st.sampled_from([b"%1", b"%2", b"%2POWR=", b"%2ERST=", b"%2ACKN=", b"PJLINK ", b"%1LAMP="]),
        st.binary(max_size=40),
    ),
)


@pytest.mark.parametrize("parser", BYTE_PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=300, deadline=None)
@given(data=pjlinkish)
def test_byte_parsers_raise_only_protocol_error(
    parser: Callable[[bytes], Any], data: bytes
) -> None:
    with contextlib.suppress(ProtocolError):
        parser(data)


@pytest.mark.parametrize("parser", TEXT_PARSERS, ids=lambda p: p.__name__)
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_value_decoders_raise_only_protocol_error(parser: Callable[[str], Any], text: str) -> None:
    with contextlib.suppress(ProtocolError):
        parser(text)


@settings(max_examples=200, deadline=None)
@given(command=st.from_regex(r"[A-Z0-9]{4}", fullmatch=True), param=st.text(max_size=40))
def test_any_encoded_command_parses_back_as_the_same_frame(command: str, param: str) -> None:
    try:
        frame = codec.encode_command(command, param, 2)
    except ProtocolError:
        return
    # Our own frames are responses' mirror image: swap the separator and parse.
    parsed = codec.parse_response(frame.replace(b" ", b"=", 1))
    assert (parsed.command, parsed.param) == (command, param)
