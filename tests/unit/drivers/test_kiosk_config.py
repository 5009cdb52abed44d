"""The kiosk's `base_url` as engineers write it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from drivers.kiosk.config import KioskConfig


def kiosk(base_url: str) -> KioskConfig:
    return KioskConfig.model_validate({"id": "k", "driver": "kiosk", "base_url": base_url})


def test_a_trailing_slash_is_taken() -> None:
    assert kiosk("http://10.1.2.40:8081/").host_port == ("10.1.2.40", 8081)


def test_a_path_is_refused_with_where_it_belongs() -> None:
    with pytest.raises(ValidationError, match="put the path '/api/v1' in health_path"):
        kiosk("http://10.1.2.40:8081/api/v1")
