"""Modbus TCP and RTU driver: meters, sensors and relays described by YAML register-map profiles.

The wire codec, value codec and profiles import only stdlib and pydantic; the serial library and
pymodbus (used by the emulator only) load inside the functions that need them.
"""

from __future__ import annotations

from .errors import FrameError, ProfileError, ValueCodecError

__all__ = ["FrameError", "ProfileError", "ValueCodecError"]
