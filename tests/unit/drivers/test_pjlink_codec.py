"""PJLink framing and value decoding, checked against the spec's own examples."""

from __future__ import annotations

import hashlib

import pytest

from drivers.pjlink import codec, values
from drivers.sdk import (
    DeviceReportedError,
    InvalidArgument,
    ProtocolError,
    Reason,
    Unsupported,
)


def test_greeting_without_auth_needs_no_digest() -> None:
    assert codec.parse_greeting(b"PJLINK 0\r") == codec.Greeting(auth=False)


def test_greeting_with_auth_carries_the_nonce() -> None:
    assert codec.parse_greeting(b"PJLINK 1 498e4a67\r") == codec.Greeting(
        auth=True, nonce="498e4a67"
    )


def test_digest_matches_the_spec_example() -> None:
    # Spec §5: nonce 498e4a67 + password JBMIAProjectorLink.
    assert codec.auth_digest("498e4a67", "JBMIAProjectorLink") == "5d8409bc1c3fa39749434aa3a5c38682"


def test_first_command_carries_the_digest_before_the_percent() -> None:
    digest = hashlib.md5(b"abcdsecret").hexdigest()
    frame = codec.encode_command("POWR", "1", 1, digest)
    assert frame == f"{digest}%1POWR 1\r".encode()


def test_class2_command_frames_with_class_digit() -> None:
    assert codec.encode_command("INNM", "?31", 2) == b"%2INNM ?31\r"


@pytest.mark.parametrize("bad", ["powr", "POW", "PO R"])
def test_malformed_command_name_is_refused_before_it_hits_the_wire(bad: str) -> None:
    with pytest.raises(ProtocolError):
        codec.encode_command(bad, "?")


def test_parameter_with_carriage_return_is_refused() -> None:
    with pytest.raises(ProtocolError):
        codec.encode_command("NAME", "x\r%1POWR 0")


def test_response_splits_class_command_and_param() -> None:
    response = codec.parse_response(b"%1LAMP=1200 1 300 0\r")
    assert (response.pjclass, response.command, response.param) == (1, "LAMP", "1200 1 300 0")
    assert response.error is None


def test_response_tolerates_crlf_line_ends() -> None:
    assert codec.parse_response(b"\n%1POWR=1\r\n").param == "1"


@pytest.mark.parametrize(
    ("code", "error", "reason"),
    [
        ("ERR1", Unsupported, Reason.UNSUPPORTED),
        ("ERR2", InvalidArgument, Reason.INVALID_ARGUMENT),
        ("ERR3", DeviceReportedError, Reason.BUSY),
        ("ERR4", DeviceReportedError, Reason.DEVICE_ERROR),
    ],
)
def test_error_replies_map_to_typed_errors_with_reason(
    code: str, error: type[Exception], reason: Reason
) -> None:
    mapped = codec.error_for(codec.parse_response(f"%1INPT={code}\r".encode()))
    assert isinstance(mapped, error)
    assert mapped.reason is reason


def test_auth_error_line_is_recognised() -> None:
    assert codec.is_auth_error(b"PJLINK ERRA\r")
    assert not codec.is_auth_error(b"%1POWR=ERR1\r")


def test_error_status_decodes_all_six_categories_in_order() -> None:
    assert values.decode_errors("012000") == {
        "fan": "ok",
        "lamp": "warning",
        "temperature": "error",
        "cover": "ok",
        "filter": "ok",
        "other": "ok",
    }


def test_error_status_round_trips_through_the_emulator_encoder() -> None:
    errors = values.decode_errors("200102")
    assert values.encode_errors(errors) == "200102"


def test_two_lamps_report_hours_and_state_each() -> None:
    assert values.decode_lamps("1200 1 35 0") == [
        values.Lamp(hours=1200, on=True),
        values.Lamp(hours=35, on=False),
    ]


@pytest.mark.parametrize("bad", ["", "1200", "1200 2", "x 1", "1200 1 300"])
def test_malformed_lamp_status_is_a_protocol_error(bad: str) -> None:
    with pytest.raises(ProtocolError):
        values.decode_lamps(bad)


@pytest.mark.parametrize(
    ("param", "state"),
    [("0", "off"), ("1", "on"), ("2", "cooling"), ("3", "warming")],
)
def test_power_states_include_warm_up_and_cool_down(param: str, state: str) -> None:
    assert values.decode_power(param) == state


def test_mute_31_means_picture_and_sound_muted() -> None:
    assert values.decode_mute("31") == values.Mute(video=True, audio=True)
    assert values.encode_mute(values.Mute(video=True, audio=True)) == "31"


def test_class2_input_codes_may_use_letters() -> None:
    assert values.decode_input_list("11 31 3A 61") == ["11", "31", "3A", "61"]


def test_class_3_projectors_are_driven_as_class_2() -> None:
    assert values.decode_class("3") == 2


def test_search_answer_yields_the_mac() -> None:
    assert values.parse_ackn(b"%2ACKN=00:11:22:AA:BB:CC\r") == "00:11:22:aa:bb:cc"


def test_power_notification_decodes_to_state() -> None:
    note = values.parse_notification(b"%2POWR=1\r")
    assert note == values.Notification("POWR", "on")


def test_error_notification_decodes_to_categories() -> None:
    note = values.parse_notification(b"%2ERST=020000\r")
    assert isinstance(note.value, dict)
    assert note.value["lamp"] == "error"


def test_unknown_notification_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        values.parse_notification(b"%2SNUM=123\r")
