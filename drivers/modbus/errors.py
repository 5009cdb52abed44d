"""Modbus-specific error types, each a subclass of the SDK error that carries its reason code."""

from __future__ import annotations

from drivers.sdk import DriverError, ProtocolError, Reason


class FrameError(ProtocolError):
    """Bytes on the wire that are not a valid Modbus frame (bad CRC, header, length, function)."""


class ValueCodecError(ProtocolError):
    """Registers that cannot become the point's data type, or a value that does not fit it."""


class ProfileError(DriverError):
    """A register-map profile is missing or invalid; the message names the file and the point."""

    reason = Reason.CONFIG_ERROR
