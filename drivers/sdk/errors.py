"""Typed driver errors. Each carries the reason code the supervisor reports for the device."""

from __future__ import annotations

from .types import Reason


class DriverError(Exception):
    """Base of every error a driver may raise. Anything else is treated as a crash."""

    reason: Reason = Reason.DEVICE_ERROR

    def __init__(self, message: str, *, reason: Reason | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.reason.value


class DeviceTimeout(DriverError):
    """The device did not answer within the configured timeout."""

    reason = Reason.TIMEOUT


class AuthFailed(DriverError):
    """The device refused our credentials (wrong PJLink password, wrong MDC PIN...)."""

    reason = Reason.AUTH_FAILED


class ProtocolError(DriverError):
    """The device sent bytes that do not parse as the protocol. Codecs raise this."""

    reason = Reason.PROTOCOL_ERROR


class Unreachable(DriverError):
    """Connection refused, host down, serial port missing, socket closed by the peer."""

    reason = Reason.UNREACHABLE


class PortInUse(DriverError):
    """An address the config names cannot be taken: TCP/UDP port in use, serial link path exists.

    A config problem, not a device one: nothing changes until the config or the other program
    does, so the supervisor and `edge-agent simulate` report it instead of retrying in a loop.
    """

    reason = Reason.CONFIG_ERROR


class DeviceReportedError(DriverError):
    """The device understood us and said no (PJLink ERR3, MDC NAK, Modbus exception...)."""

    reason = Reason.DEVICE_ERROR


class Unsupported(DriverError):
    """The action or value is not supported by this driver or this device model."""

    reason = Reason.UNSUPPORTED


class InvalidArgument(DriverError):
    """The command's arguments failed validation."""

    reason = Reason.INVALID_ARGUMENT
