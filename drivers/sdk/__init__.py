"""Driver SDK: the contract between device drivers and the daemon. Imports pydantic only."""

from __future__ import annotations

from .commands import build_command, positional_to_args, supported_actions
from .contract import ID_PATTERN, DeviceConfig, Driver, DriverContext, Emulator, Logger
from .errors import (
    AuthFailed,
    DeviceReportedError,
    DeviceTimeout,
    DriverError,
    InvalidArgument,
    PortInUse,
    ProtocolError,
    Unreachable,
    Unsupported,
)
from .secret_file import read_secret_file
from .types import (
    CAPABILITY_ACTIONS,
    Capability,
    Command,
    InputArgs,
    MuteArgs,
    NoArgs,
    OnOff,
    PowerArgs,
    ReadArgs,
    Reason,
    SceneArgs,
    VolumeArgs,
    WriteArgs,
)

__all__ = [
    "CAPABILITY_ACTIONS",
    "ID_PATTERN",
    "AuthFailed",
    "Capability",
    "Command",
    "DeviceConfig",
    "DeviceReportedError",
    "DeviceTimeout",
    "Driver",
    "DriverContext",
    "DriverError",
    "Emulator",
    "InputArgs",
    "InvalidArgument",
    "Logger",
    "MuteArgs",
    "NoArgs",
    "OnOff",
    "PortInUse",
    "PowerArgs",
    "ProtocolError",
    "ReadArgs",
    "Reason",
    "SceneArgs",
    "Unreachable",
    "Unsupported",
    "VolumeArgs",
    "WriteArgs",
    "build_command",
    "positional_to_args",
    "read_secret_file",
    "supported_actions",
]
