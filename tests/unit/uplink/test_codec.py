"""Envelope encoding, command parsing and their behaviour on hostile bytes."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.store.items import ItemClass, StoredItem
from edge_agent.uplink.codec import decode_batch, encode_batch, parse_command, record_json
from edge_agent.uplink.errors import PayloadError


def item(n: int, /, **data: object) -> StoredItem:
    return StoredItem(id=f"id-{n}", seq=n, cls=ItemClass.EVENT, kind="footfall", device="cam-1",
                      ts=1.5, accepted_at=2.0, data=dict(data))  # fmt: skip


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_batch_round_trips_every_record(compression: str) -> None:
    records = [record_json(item(i, count=i)) for i in range(50)]
    payload = encode_batch(records, batch_id="b1", historical=True, compression=compression)  # type: ignore[arg-type]
    batch = decode_batch(payload)
    assert batch.historical and batch.batch_id == "b1"
    assert [e.id for e in batch.events] == [f"id-{i}" for i in range(50)]
    assert batch.events[7].data == {"count": 7}


def test_non_json_values_in_data_become_strings_instead_of_failing() -> None:
    record = json.loads(record_json(item(1, when=object.__new__(object).__class__)))
    assert isinstance(record["data"]["when"], str)


def test_nan_or_infinite_readings_are_sent_as_null_instead_of_blocking_the_outbox() -> None:
    record = json.loads(record_json(item(1, value=float("nan"), peaks=[1.0, float("inf")])))
    assert record["data"] == {"value": None, "peaks": [1.0, None]}


def test_zstd_count_mismatch_is_a_payload_error() -> None:
    packed = base64.b64encode(zstandard.ZstdCompressor().compress(b"[]")).decode()
    body = json.dumps(
        {
            "batch_id": "b",
            "historical": False,
            "encoding": "zstd",
            "count": 3,
            "events_zstd": packed,
        }
    )
    with pytest.raises(PayloadError, match="count"):
        decode_batch(body.encode())


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"", "not JSON"),
        (b"[1,2]", "wrong shape"),
        (b'{"id": "x"}', "action"),
        (b'{"id": "", "action": "power"}', "id"),
        (b'{"id": "x", "action": "power", "args": []}', "args"),
        (b'{"id": "x", "action": "power", "extra": 1}', "extra"),
    ],
)
def test_bad_commands_say_what_is_wrong(payload: bytes, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        parse_command(payload)


def test_deeply_nested_json_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        parse_command(b"[" * 100_000 + b"]" * 100_000)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_escape_as_anything_but_payload_error(data: bytes) -> None:
    for parse in (parse_command, decode_batch):
        with contextlib.suppress(PayloadError):
            parse(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_zstd_field_text_is_a_payload_error(text: str) -> None:
    body = json.dumps(
        {"batch_id": "b", "historical": False, "encoding": "zstd", "count": 1, "events_zstd": text}
    )
    with pytest.raises(PayloadError):
        decode_batch(body.encode())


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.none(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False)),
        max_size=5,
    )
)
def test_any_json_data_survives_the_envelope(data: dict[str, object]) -> None:
    data = {
        k: v
        for k, v in data.items()
        if not (isinstance(v, float) and v in (float("inf"), float("-inf")))
    }
    payload = encode_batch(
        [record_json(item(1, **data))], batch_id="b", historical=False, compression="none"
    )
    assert decode_batch(payload).events[0].data == data
