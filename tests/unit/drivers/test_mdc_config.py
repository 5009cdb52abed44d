"""MDC device config: one transport, PIN only with secured mode, ids within the protocol's range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from drivers import registry
from drivers.mdc import MDCConfig, MDCDriver


def make(**kw: Any) -> MDCConfig:
    return MDCConfig.model_validate({"id": "lobby-screen", "driver": "samsung_mdc", **kw})


def test_registry_name_loads_the_mdc_driver() -> None:
    assert registry.load("samsung_mdc") is MDCDriver
    assert registry.config_model("samsung_mdc") is MDCConfig


def test_tcp_config_defaults_to_port_1515_and_id_0() -> None:
    cfg = make(host="10.0.0.5")
    assert (cfg.port, cfg.display_id, cfg.endpoint()) == (1515, 0, "10.0.0.5:1515")


def test_serial_config_defaults_to_9600_8n1() -> None:
    cfg = make(serial={"port": "/dev/ttyUSB0"})
    assert cfg.serial is not None
    assert (cfg.serial.baudrate, cfg.serial.bytesize, cfg.serial.parity, cfg.serial.stopbits) == (
        9600,
        8,
        "N",
        1,
    )


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({}, "exactly one"),
        ({"host": "10.0.0.5", "serial": {"port": "/dev/ttyUSB0"}}, "exactly one"),
        ({"host": "10.0.0.5", "secured": True}, "pin_file"),
        ({"serial": {"port": "/dev/ttyUSB0"}, "secured": True, "pin_file": "/x"}, "TCP only"),
        ({"host": "10.0.0.5", "pin_file": "/x"}, "secured: true"),
    ],
)
def test_contradictory_transport_settings_are_rejected_with_a_hint(
    kw: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        make(**kw)


def test_display_id_above_broadcast_is_rejected() -> None:
    with pytest.raises(ValidationError):
        make(host="10.0.0.5", display_id=255)


def test_unknown_baud_rate_is_rejected() -> None:
    with pytest.raises(ValidationError):
        make(serial={"port": "/dev/ttyUSB0", "baudrate": 9601})


def test_secured_config_points_at_a_pin_file_not_a_pin(tmp_path: Path) -> None:
    cfg = make(host="10.0.0.5", secured=True, pin_file=str(tmp_path / "pin"))
    assert cfg.pin_file == tmp_path / "pin"
    with pytest.raises(ValidationError):
        make(host="10.0.0.5", secured=True, pin="1234")


def test_example_config_file_validates() -> None:
    path = Path(__file__).resolve().parents[3] / "config" / "examples" / "mdc.yaml"
    doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    devices = [MDCConfig.model_validate(d) for d in doc["devices"]]
    assert {d.driver for d in devices} == {"samsung_mdc"}
    assert doc["agent"]["branch_id"] == "demo-001"
