"""iBeacon and Eddystone advertisement payloads <-> typed frames. Pure bytes, no I/O.

Parsers take the payload exactly as BlueZ/bleak hand it over: manufacturer data *after* the
16-bit company id, service data *after* the 16-bit service UUID. Anything that does not parse
raises `BeaconParseError` (a `ProtocolError`), never a bare exception.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from ..sdk import ProtocolError

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"

_IBEACON_PREFIX = b"\x02\x15"
_IBEACON_LEN = 23  # prefix 2 + uuid 16 + major 2 + minor 2 + tx power 1

FRAME_UID = 0x00
FRAME_URL = 0x10
FRAME_TLM = 0x20

URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
URL_EXPANSIONS = (
    ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
    ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov",
)  # fmt: skip
_URL_MAX_ENCODED = 17
_TLM_TEMP_UNSUPPORTED = -128.0  # 0x8000 as signed 8.8 fixed point


class BeaconParseError(ProtocolError):
    """An advertisement payload that is not a well-formed beacon frame."""


@dataclass(frozen=True)
class IBeacon:
    uuid: str
    major: int
    minor: int
    tx_power: int


@dataclass(frozen=True)
class EddystoneUID:
    namespace: str  # 20 lowercase hex digits
    instance: str  # 12 lowercase hex digits
    tx_power: int


@dataclass(frozen=True)
class EddystoneURL:
    url: str
    tx_power: int


@dataclass(frozen=True)
class EddystoneTLM:
    battery_mv: int  # 0 when the beacon is mains powered
    temperature_c: float | None  # None when the beacon has no sensor
    adv_count: int
    uptime_s: float


Frame = IBeacon | EddystoneUID | EddystoneURL | EddystoneTLM


def parse_ibeacon(data: bytes) -> IBeacon:
    """Apple manufacturer data (company id stripped) -> IBeacon."""
    if len(data) != _IBEACON_LEN or not data.startswith(_IBEACON_PREFIX):
        raise BeaconParseError(
            f"not an iBeacon payload ({len(data)} bytes, want 23 starting 02 15)"
        )
    major, minor, tx = struct.unpack(">HHb", data[18:23])
    return IBeacon(
        uuid=str(uuid.UUID(bytes=bytes(data[2:18]))), major=major, minor=minor, tx_power=tx
    )


def build_ibeacon(frame: IBeacon) -> bytes:
    """The Apple manufacturer data bytes an iBeacon advertises (for the emulator)."""
    return (
        _IBEACON_PREFIX
        + uuid.UUID(frame.uuid).bytes
        + struct.pack(">HHb", frame.major, frame.minor, frame.tx_power)
    )


def parse_eddystone(data: bytes) -> EddystoneUID | EddystoneURL | EddystoneTLM:
    """Eddystone service data (0xFEAA) -> the frame it carries."""
    if len(data) < 2:
        raise BeaconParseError(f"Eddystone frame too short ({len(data)} bytes)")
    kind = data[0]
    if kind == FRAME_UID:
        if len(data) not in (18, 20):  # the two trailing RFU bytes are optional in practice
            raise BeaconParseError(f"Eddystone-UID frame has {len(data)} bytes, want 18 or 20")
        tx = struct.unpack(">b", data[1:2])[0]
        return EddystoneUID(namespace=data[2:12].hex(), instance=data[12:18].hex(), tx_power=tx)
    if kind == FRAME_URL:
        if len(data) < 3 or len(data) > 3 + _URL_MAX_ENCODED:
            raise BeaconParseError(f"Eddystone-URL frame has {len(data)} bytes, want 3..20")
        tx = struct.unpack(">b", data[1:2])[0]
        return EddystoneURL(url=decode_url(data[2:]), tx_power=tx)
    if kind == FRAME_TLM:
        return _parse_tlm(data)
    raise BeaconParseError(f"unknown Eddystone frame type 0x{kind:02x}")


def _parse_tlm(data: bytes) -> EddystoneTLM:
    if len(data) != 14:
        raise BeaconParseError(f"Eddystone-TLM frame has {len(data)} bytes, want 14")
    if data[1] != 0x00:
        raise BeaconParseError(f"Eddystone-TLM version 0x{data[1]:02x} is not plain telemetry")
    battery, temp_raw, adv, secs = struct.unpack(">HhII", data[2:14])
    temp = temp_raw / 256.0
    return EddystoneTLM(
        battery_mv=battery,
        temperature_c=None if temp == _TLM_TEMP_UNSUPPORTED else temp,
        adv_count=adv,
        uptime_s=secs / 10.0,
    )


def decode_url(encoded: bytes) -> str:
    """Scheme byte + body with expansion codes -> the full URL."""
    if not encoded or encoded[0] >= len(URL_SCHEMES):
        raise BeaconParseError("Eddystone-URL frame has no valid scheme prefix")
    out = [URL_SCHEMES[encoded[0]]]
    for byte in encoded[1:]:
        if byte < len(URL_EXPANSIONS):
            out.append(URL_EXPANSIONS[byte])
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            raise BeaconParseError(f"Eddystone-URL uses reserved byte 0x{byte:02x}")
    return "".join(out)


def encode_url(url: str) -> bytes:
    """The shortest-first encoding of `url`; BeaconParseError when it cannot be encoded."""
    for index in (1, 0, 3, 2):  # longest scheme first, so "https://www." beats "https://"
        scheme = URL_SCHEMES[index]
        if url.startswith(scheme):
            out, rest = bytearray([index]), url[len(scheme) :]
            break
    else:
        raise BeaconParseError(f"URL {url!r} does not start with a supported scheme")
    while rest:
        for code, text in enumerate(URL_EXPANSIONS):
            if rest.startswith(text):
                out.append(code)
                rest = rest[len(text) :]
                break
        else:
            char = ord(rest[0])
            if not 0x21 <= char <= 0x7E:
                raise BeaconParseError(f"URL character {rest[0]!r} cannot be sent in Eddystone-URL")
            out.append(char)
            rest = rest[1:]
    if len(out) - 1 > _URL_MAX_ENCODED:
        raise BeaconParseError(f"URL {url!r} encodes to {len(out) - 1} bytes, more than 17")
    return bytes(out)


def build_eddystone(frame: EddystoneUID | EddystoneURL | EddystoneTLM) -> bytes:
    """The 0xFEAA service data a beacon would advertise for `frame` (for the emulator)."""
    if isinstance(frame, EddystoneUID):
        return (
            bytes([FRAME_UID])
            + struct.pack(">b", frame.tx_power)
            + bytes.fromhex(frame.namespace)
            + bytes.fromhex(frame.instance)
            + b"\x00\x00"
        )
    if isinstance(frame, EddystoneURL):
        return bytes([FRAME_URL]) + struct.pack(">b", frame.tx_power) + encode_url(frame.url)
    temp = -0x8000 if frame.temperature_c is None else round(frame.temperature_c * 256)
    return bytes([FRAME_TLM, 0x00]) + struct.pack(
        ">HhII", frame.battery_mv, temp, frame.adv_count, round(frame.uptime_s * 10)
    )


def parse_advertisement(
    manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes]
) -> list[Frame]:
    """Every beacon frame in one advertisement. Raises on the first malformed beacon payload.

    Apple data that is not an iBeacon (AirDrop, Find My...) is common and silently skipped; only
    data that claims to be an iBeacon (starts 02 15) and is malformed counts as an error.
    """
    frames: list[Frame] = []
    apple = manufacturer_data.get(APPLE_COMPANY_ID)
    if apple is not None and bytes(apple[:2]) == _IBEACON_PREFIX:
        frames.append(parse_ibeacon(bytes(apple)))
    eddystone = service_data.get(EDDYSTONE_UUID)
    if eddystone is not None:
        frames.append(parse_eddystone(bytes(eddystone)))
    return frames
