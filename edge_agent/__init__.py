"""edge-agent: the branch gateway daemon."""

from __future__ import annotations

__version__ = "0.1.0"
