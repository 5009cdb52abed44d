"""Hypothesis: the MDC decoder and payload parsers raise only ProtocolError, and round-trip."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.mdc.codec import (
    HEADER,
    Frame,
    FrameDecoder,
    Reply,
    decode,
    encode,
    encode_reply,
    parse_reply,
)
from drivers.mdc.messages import (
    DisplayStatus,
    Status,
    encode_display_status,
    encode_status,
    parse_display_status,
    parse_status,
    parse_text,
)
from drivers.sdk import ProtocolError

byte = st.integers(0, 255)
frames = st.builds(Frame, cmd=byte, display_id=byte, data=st.binary(max_size=255))


def drain(decoder: FrameDecoder) -> list[Frame]:
    """Every frame the decoder can produce now; bounded (each error drops at least one byte)."""
    out: list[Frame] = []
    for _ in range(10_000):
        try:
            frame = decoder.next_frame()
        except ProtocolError:
            continue
        if frame is None:
            return out
        out.append(frame)
    raise AssertionError("decoder did not settle")


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_protocol_error(data: bytes) -> None:
    decoder = FrameDecoder()
    decoder.feed(data)
    drain(decoder)
    with contextlib.suppress(ProtocolError):
        parse_reply(decode(data))


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(st.binary(max_size=300))
def test_payload_parsers_raise_only_protocol_error(data: bytes) -> None:
    for parser in (parse_status, parse_display_status, parse_text):
        with contextlib.suppress(ProtocolError):
            parser(data)


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(frames)
def test_encode_then_decode_round_trips(frame: Frame) -> None:
    assert decode(encode(frame)) == frame


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(byte, st.booleans(), byte, st.binary(min_size=1, max_size=200))
def test_reply_encode_then_parse_round_trips(
    display_id: int, ack: bool, rcmd: int, data: bytes
) -> None:
    reply = Reply(display_id, ack, rcmd, data if ack else data[:1])
    assert parse_reply(decode(encode_reply(reply))) == reply


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(
    st.binary(max_size=100).map(lambda b: b.replace(bytes([HEADER]), b"")),
    frames,
    st.integers(1, 50),
)
def test_frame_after_noise_is_recovered_in_any_chunking(
    noise: bytes, frame: Frame, step: int
) -> None:
    wire = noise + encode(frame)
    decoder = FrameDecoder()
    got: list[Frame] = []
    for i in range(0, len(wire), step):
        decoder.feed(wire[i : i + step])
        got += drain(decoder)
    assert got == [frame]


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 100)),
    st.one_of(st.none(), st.booleans()),
    byte,
)
def test_status_round_trips(
    power: bool, volume: int | None, mute: bool | None, source: int
) -> None:
    status = Status(power, volume, mute, source, 0x10)
    assert parse_status(encode_status(status)) == status


@settings(deadline=None)  # shared 2-core box: wall-clock deadlines would flake
@given(
    st.frozensets(st.sampled_from(["lamp", "temperature", "brightness_sensor", "no_sync", "fan"])),
    byte,
)
def test_display_status_round_trips(faults: frozenset[str], temp: int) -> None:
    status = DisplayStatus(faults, temp)
    assert parse_display_status(encode_display_status(status)) == status
