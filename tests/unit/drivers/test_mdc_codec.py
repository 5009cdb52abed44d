"""MDC framing and payloads: known wire bytes from the Samsung spec, resync, typed errors."""

from __future__ import annotations

import pytest

from drivers.mdc.codec import (
    ChecksumError,
    Frame,
    FrameDecoder,
    MalformedReply,
    Reply,
    decode,
    encode_reply,
    encode_request,
    parse_reply,
)
from drivers.mdc.device import NAK_BAD_VALUE, DisplayState, EmulatedDisplay
from drivers.mdc.messages import (
    Cmd,
    DisplayStatus,
    encode_display_status,
    input_code,
    input_name,
    parse_display_status,
    parse_status,
    parse_text,
)
from drivers.sdk import ProtocolError


def test_power_on_broadcast_matches_the_spec_example() -> None:
    # Spec: "Power On & ID=FE" -> AA 11 FE 01 01 11 (11+FE+01+01 = 0x111, keep 0x11).
    assert encode_request(0x11, 0xFE, b"\x01") == bytes.fromhex("AA11FE010111")


def test_status_get_has_zero_length_and_checksum_of_cmd_and_id() -> None:
    assert encode_request(Cmd.STATUS, 0x01) == bytes.fromhex("AA 00 01 00 01")


def test_ack_reply_parses_into_rcmd_and_data() -> None:
    wire = encode_reply(Reply(1, True, Cmd.POWER, b"\x01"))
    assert wire == bytes.fromhex("AAFF0103411101") + bytes(
        [(0xFF + 1 + 3 + 0x41 + 0x11 + 1) & 0xFF]
    )
    reply = parse_reply(decode(wire))
    assert (reply.ack, reply.rcmd, reply.data, reply.error_code) == (True, 0x11, b"\x01", None)


def test_nak_reply_carries_its_error_code() -> None:
    reply = parse_reply(decode(encode_reply(Reply(3, False, Cmd.INPUT_SOURCE, b"\x02"))))
    assert (reply.ack, reply.rcmd, reply.error_code) == (False, 0x14, 2)


def test_decoder_skips_line_noise_before_the_header() -> None:
    dec = FrameDecoder()
    dec.feed(b"\x00\x13garbage" + encode_request(0x12, 5, b"\x10"))
    assert dec.next_frame() == Frame(0x12, 5, b"\x10")
    assert dec.discarded == 9


def test_bad_checksum_raises_then_decoder_recovers_on_next_frame() -> None:
    bad = bytearray(encode_request(0x11, 1, b"\x01"))
    bad[-1] ^= 0xFF
    dec = FrameDecoder()
    dec.feed(bytes(bad) + encode_request(0x12, 1, b"\x05"))
    with pytest.raises(ChecksumError):
        dec.next_frame()
    assert dec.next_frame() == Frame(0x12, 1, b"\x05")


def test_frame_split_across_reads_waits_for_the_rest() -> None:
    wire = encode_request(0x14, 2, b"\x21")
    dec = FrameDecoder()
    dec.feed(wire[:3])
    assert dec.next_frame() is None
    dec.feed(wire[3:])
    assert dec.next_frame() == Frame(0x14, 2, b"\x21")


def test_reply_that_is_neither_ack_nor_nak_is_a_protocol_error() -> None:
    with pytest.raises(MalformedReply):
        parse_reply(Frame(0xFF, 1, b"X\x11"))
    with pytest.raises(MalformedReply):
        parse_reply(Frame(0x11, 1, b"A\x11"))


def test_out_of_range_bytes_cannot_be_encoded() -> None:
    with pytest.raises(ProtocolError):
        encode_request(0x100, 1)
    with pytest.raises(ProtocolError):
        encode_request(0x11, 1, bytes(256))


def test_status_reports_power_volume_mute_and_input_names() -> None:
    status = parse_status(bytes([1, 30, 0, 0x25, 0x10, 0, 0]))
    assert status.as_state() == {"power": "on", "volume": 30, "mute": "off", "input": "dp1"}


def test_status_of_a_model_without_audio_reports_volume_none() -> None:
    assert parse_status(bytes([0, 0xFF, 0xFF, 0x60])).as_state() == {
        "power": "off",
        "volume": None,
        "mute": None,
        "input": "magicinfo",
    }


def test_status_with_impossible_values_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_status(bytes([7, 30, 0, 0x21]))
    with pytest.raises(ProtocolError):
        parse_status(bytes([1, 150, 0, 0x21]))
    with pytest.raises(ProtocolError):
        parse_status(b"\x01")


def test_unknown_input_code_stays_visible_instead_of_failing() -> None:
    assert input_name(0x99) == "unknown_0x99"


def test_input_aliases_resolve_to_samsung_codes() -> None:
    assert input_code("HDMI1") == 0x21
    assert input_code("hdmi2") == 0x23
    assert input_code("dp") == 0x25
    assert input_code("MagicInfo") == 0x60
    assert input_code("hdmi1_pc") is None  # get-only


def test_display_status_names_each_failed_check() -> None:
    health = parse_display_status(bytes([1, 0, 2, 1, 55, 0]))
    assert health.faults == {"lamp", "no_sync"}
    assert health.temperature_c == 55
    again = parse_display_status(encode_display_status(DisplayStatus(frozenset({"fan"}), 70)))
    assert again.as_dict() == {"faults": ["fan"], "temperature_c": 70}


def test_text_replies_drop_nul_padding() -> None:
    assert parse_text(b"QM55B\x00\x00") == "QM55B"


def test_emulated_display_ignores_frames_for_other_ids() -> None:
    display = EmulatedDisplay(3)
    assert display.handle(Frame(Cmd.STATUS, 4)) is None


def test_broadcast_is_obeyed_without_a_reply() -> None:
    display = EmulatedDisplay(3, DisplayState(power=True))
    assert display.handle(Frame(Cmd.POWER, 0xFE, b"\x00")) is None
    assert display.state.power is False


def test_emulated_display_naks_an_input_it_does_not_have() -> None:
    display = EmulatedDisplay(1, DisplayState(inputs=["hdmi1"]))
    reply = display.handle(Frame(Cmd.INPUT_SOURCE, 1, b"\x25"))
    assert reply is not None
    assert reply.error_code == NAK_BAD_VALUE
    assert display.state.input == "hdmi1"
