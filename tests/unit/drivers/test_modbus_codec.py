"""Modbus wire codec: requests, responses, MBAP and RTU framing, and fuzzing of every parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus import codec
from drivers.modbus.codec import (
    ExceptionReply,
    Function,
    ReadBitsReply,
    ReadRegistersReply,
    WriteReply,
)
from drivers.modbus.errors import FrameError
from drivers.sdk import ProtocolError


def test_crc_matches_the_spec_example() -> None:
    # "Read 1 holding register at 0 of unit 1" is 01 03 00 00 00 01 84 0A on the wire.
    assert codec.encode_rtu_frame(
        1, codec.read_request(Function.READ_HOLDING_REGISTERS, 0, 1)
    ) == bytes.fromhex("010300000001840A")


def test_tcp_frame_carries_transaction_unit_and_length() -> None:
    frame = codec.encode_tcp_frame(
        0x1234, 17, codec.read_request(Function.READ_INPUT_REGISTERS, 0x48, 2)
    )
    assert frame == bytes.fromhex("12340000000611" + "04004800 02".replace(" ", ""))
    header = codec.decode_mbap_header(frame[:7])
    assert (header.transaction_id, header.unit_id, header.pdu_length) == (0x1234, 17, 5)


def test_register_response_decodes_to_values() -> None:
    reply = codec.decode_response(3, bytes.fromhex("0304 0001 FFFF".replace(" ", "")), 2)
    assert reply == ReadRegistersReply((1, 0xFFFF))


def test_coil_response_unpacks_lsb_first() -> None:
    reply = codec.decode_response(1, bytes([1, 2, 0b1000_0101, 0b1]), 9)
    assert reply == ReadBitsReply((True, False, True, False, False, False, False, True, True))


def test_exception_response_is_a_typed_reply_not_an_error() -> None:
    reply = codec.decode_response(4, bytes([0x84, 0x02]), 2)
    assert reply == ExceptionReply(function=4, code=2)
    assert reply.name == "illegal_data_address"


def test_write_echo_decodes() -> None:
    assert codec.decode_response(
        5, bytes.fromhex("0500 03FF 00".replace(" ", "")), 0
    ) == WriteReply(3, 0xFF00)


def test_pack_then_unpack_bits_round_trips() -> None:
    bits = [True, False, True, True, False, False, True, False, True, True]
    assert list(codec.unpack_bits(codec.pack_bits(bits), len(bits))) == bits


@pytest.mark.parametrize(
    ("function", "pdu", "count"),
    [
        (3, bytes([0x03, 0x04, 0, 1]), 2),  # byte count larger than the data
        (3, bytes([0x03, 0x02, 0, 1]), 2),  # fewer registers than asked for
        (3, bytes([0x04, 0x02, 0, 1]), 1),  # answer to a different function
        (1, bytes([0x01, 0x02, 0, 0]), 3),  # two data bytes for three bits
        (6, bytes([0x06, 0, 1]), 0),  # short write echo
        (4, bytes([0x84, 0x02, 0x00]), 1),  # exception with trailing byte
    ],
)
def test_malformed_response_raises_frame_error(function: int, pdu: bytes, count: int) -> None:
    with pytest.raises(FrameError):
        codec.decode_response(function, pdu, count)


def test_rtu_frame_with_bad_crc_is_rejected() -> None:
    frame = bytearray(codec.encode_rtu_frame(1, bytes([3, 2, 0, 7])))
    frame[-1] ^= 0xFF
    with pytest.raises(FrameError, match="CRC"):
        codec.decode_rtu_frame(bytes(frame))


def test_request_beyond_spec_limits_is_refused_before_sending() -> None:
    with pytest.raises(FrameError):
        codec.read_request(Function.READ_HOLDING_REGISTERS, 0, 126)
    with pytest.raises(FrameError):
        codec.read_request(Function.READ_COILS, 0xFFFF, 2)


def test_frame_error_is_a_protocol_error_for_the_supervisor() -> None:
    assert issubclass(FrameError, ProtocolError)


@given(
    st.integers(0, 0xFFFF),
    st.integers(1, 247),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125),
)
def test_register_reply_survives_both_framings(tid: int, unit: int, registers: list[int]) -> None:
    pdu = bytes([3, 2 * len(registers)]) + b"".join(r.to_bytes(2, "big") for r in registers)
    rtu = codec.encode_rtu_frame(unit, pdu)
    assert codec.rtu_response_length(rtu[:3]) == len(rtu)
    got_unit, got_pdu = codec.decode_rtu_frame(rtu)
    assert got_unit == unit
    assert codec.decode_response(3, got_pdu, len(registers)) == ReadRegistersReply(tuple(registers))
    tcp = codec.encode_tcp_frame(tid, unit, pdu)
    assert codec.decode_mbap_header(tcp[:7]).pdu_length == len(tcp) - 7


# --- fuzz: arbitrary bytes raise only FrameError ---------------------------------------------


@given(st.sampled_from([1, 2, 3, 4, 5, 6, 15, 16]), st.binary(max_size=300), st.integers(0, 2000))
def test_any_bytes_as_response_raise_only_frame_error(
    function: int, pdu: bytes, count: int
) -> None:
    with contextlib.suppress(FrameError):
        codec.decode_response(function, pdu, count)


@given(st.binary(max_size=12))
def test_any_bytes_as_mbap_header_raise_only_frame_error(data: bytes) -> None:
    try:
        header = codec.decode_mbap_header(data)
    except FrameError:
        return
    assert 1 <= header.pdu_length <= codec.MAX_PDU


@given(st.binary(max_size=300))
def test_any_bytes_as_rtu_frame_raise_only_frame_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        codec.rtu_response_length(data[:3])
        codec.decode_rtu_frame(data)


@given(st.integers(-5, 70000), st.integers(-5, 3000), st.sampled_from(list(Function)))
def test_any_request_arguments_raise_only_frame_error(
    address: int, count: int, function: Function
) -> None:
    with contextlib.suppress(FrameError):
        codec.read_request(function, address, count)
        codec.write_registers_request(address, [0] * max(0, min(count, 200)))
        codec.write_coils_request(address, [True] * max(0, min(count, 2000)))
