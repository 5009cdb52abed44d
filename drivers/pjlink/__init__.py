"""PJLink class 1/2 projector driver, its codec and its emulator.

Only stdlib, pydantic and drivers.sdk are imported here, so an unconfigured PJLink driver costs
nothing at start-up.
"""

from __future__ import annotations

from .config import PJLinkConfig
from .driver import PJLinkDriver
from .udp import SearchHit, search

__all__ = ["PJLinkConfig", "PJLinkDriver", "SearchHit", "search"]
