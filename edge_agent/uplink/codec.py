"""Bytes <-> payloads: compact JSON, the batch envelope with optional zstd, and command parsing.

Event records are serialised with the stdlib `json` straight from the stored item (not through
pydantic) because a backlog of a million items is drained through here; tests validate the
result against the generated schemas instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from edge_agent.commands import MAX_COMMAND_BYTES
from edge_agent.store.items import StoredItem

from .errors import PayloadError
from .payloads import CommandPayload, EventBatch, ZstdEventBatch

M = TypeVar("M", bound=BaseModel)
Compression = Literal["none", "zstd"]
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_ZSTD_BATCH = "application/json; edge-encoding=zstd"
#: A decompressed batch may not exceed this, so a hostile payload cannot balloon memory.
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


def dump(model: BaseModel, *, exclude_none: bool = False) -> bytes:
    """Compact JSON of a payload model."""
    return model.model_dump_json(exclude_none=exclude_none).encode()


def record_json(item: StoredItem) -> bytes:
    """One EventRecord as compact JSON bytes (non-JSON values in `data` become strings)."""
    record = {
        "id": item.id,
        "seq": item.seq,
        "ts": item.ts,
        "kind": item.kind,
        "device": item.device,
        "data": item.data,
    }
    try:
        return json.dumps(record, separators=(",", ":"), default=str, allow_nan=False).encode()
    except ValueError:  # NaN or infinity somewhere: JSON has no such numbers; send null
        return json.dumps(_finite(record), separators=(",", ":"), default=str).encode()


def _finite(value: Any) -> Any:
    """`value` with every NaN/infinite float replaced by None, so one odd reading cannot
    block the outbox forever."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def envelope_overhead(batch_id: str) -> int:
    """Bytes the plain envelope adds around the records (for batch sizing)."""
    return len(_plain_head(batch_id, historical=False)) + len(b"]}")


def _plain_head(batch_id: str, *, historical: bool) -> bytes:
    flag = b"true" if historical else b"false"
    return b'{"batch_id":"' + batch_id.encode() + b'","historical":' + flag + b',"events":['


def encode_batch(
    records: Sequence[bytes], *, batch_id: str, historical: bool, compression: Compression
) -> bytes:
    """The envelope around already-serialised records, compressed when asked."""
    body = b",".join(records)
    if compression == "none":
        return _plain_head(batch_id, historical=historical) + body + b"]}"
    import zstandard

    packed = zstandard.ZstdCompressor(level=3).compress(b"[" + body + b"]")
    envelope = {
        "batch_id": batch_id,
        "historical": historical,
        "encoding": "zstd",
        "count": len(records),
        "events_zstd": base64.b64encode(packed).decode("ascii"),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def decode_batch(payload: bytes) -> EventBatch:
    """Parse either envelope into a plain EventBatch. Raises PayloadError on anything else."""
    raw = _loads(payload)
    if isinstance(raw, dict) and raw.get("encoding") == "zstd":
        packed = _validate(ZstdEventBatch, raw)
        events = _unpack(packed.events_zstd)
        if not isinstance(events, list) or len(events) != packed.count:
            raise PayloadError("zstd batch: `count` does not match the records inside")
        raw = {"batch_id": packed.batch_id, "historical": packed.historical, "events": events}
    return _validate(EventBatch, raw)


def _unpack(text: str) -> Any:
    import zstandard

    try:
        packed = base64.b64decode(text, validate=True)
        data = zstandard.ZstdDecompressor().decompress(
            packed, max_output_size=MAX_DECOMPRESSED_BYTES
        )
    except (binascii.Error, ValueError, zstandard.ZstdError) as exc:
        raise PayloadError(f"zstd batch: cannot decompress: {exc}") from None
    return _loads(data)


def parse_command(payload: bytes) -> CommandPayload:
    """A `cmd/{device}` payload, or PayloadError saying what is wrong with it."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise PayloadError(
            f"too large: {len(payload)} bytes (a command may have at most {MAX_COMMAND_BYTES})"
        )
    return _validate(CommandPayload, _loads(payload, strict=True))


def _loads(payload: bytes, *, strict: bool = False) -> Any:
    """JSON, or PayloadError. `strict` (commands from HQ): standard JSON only. `NaN`, `Infinity`,
    numbers too big for a double and integers past 2^53 (which HQ's own JSON tools would have
    rounded) are refused, as nothing downstream (a device, the audit log) can hold them."""
    hooks: dict[str, Any] = (
        {"parse_constant": _no_constant, "parse_float": _finite_float, "parse_int": _exact_int}
        if strict
        else {}
    )
    try:
        return json.loads(payload, **hooks)
    except ValueError as exc:  # bad UTF-8, bad JSON, a constant, an int over 4300 digits
        raise PayloadError(f"not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("not JSON: nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _exact_int(text: str) -> int:
    value = int(text)  # over 4300 digits: ValueError
    if abs(value) > _EXACT_INT:
        raise ValueError(f"{text[:40]} is beyond what a JSON number holds exactly (2^53)")
    return value


_EXACT_INT = 2**53


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def _validate(model: type[M], raw: Any) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        raise PayloadError(f"wrong shape: {problems}") from None


__all__ = [
    "CONTENT_TYPE_JSON",
    "CONTENT_TYPE_ZSTD_BATCH",
    "Compression",
    "decode_batch",
    "dump",
    "encode_batch",
    "envelope_overhead",
    "parse_command",
    "record_json",
]
