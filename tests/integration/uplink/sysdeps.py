"""Skip, or fail on CI, when the broker binaries are missing.

A missing mosquitto on a developer's laptop is a skip; on CI (`CI` set) it is a broken install,
and a skip there would turn a whole suite into a green run that tested nothing.
"""

from __future__ import annotations

import os

import pytest

from tests.support.mosquitto import tools_available

NEEDED = "mosquitto, mosquitto-clients and openssl are needed (install them with `make sysdeps`)"


def require_mosquitto() -> None:
    """Call at module level of a test module or conftest that needs a real broker."""
    if tools_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {NEEDED}", pytrace=False)
    pytest.skip(NEEDED, allow_module_level=True)
