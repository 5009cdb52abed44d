"""Samsung MDC (Multiple Display Control) for signage screens, over TCP 1515 or RS-232.

Protocol libraries load lazily: importing this package costs stdlib + pydantic only.
"""

from __future__ import annotations

from .config import MDCConfig, SerialSettings
from .driver import MDCDriver

__all__ = ["MDCConfig", "MDCDriver", "SerialSettings"]
