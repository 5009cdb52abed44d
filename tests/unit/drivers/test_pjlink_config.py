"""PJLink device settings and input naming, as a field engineer writes them in YAML."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from drivers import registry
from drivers.pjlink import inputs
from drivers.pjlink.config import PJLinkConfig
from drivers.sdk import InvalidArgument


def _config(**extra: object) -> PJLinkConfig:
    return PJLinkConfig.model_validate(
        {"id": "lobby", "driver": "pjlink", "host": "10.0.0.5", **extra}
    )


def test_registry_finds_the_pjlink_config_model() -> None:
    assert registry.config_model("pjlink") is PJLinkConfig


def test_defaults_are_port_4352_auto_class_and_no_notifications() -> None:
    cfg = _config()
    assert (cfg.port, cfg.pjlink_class, cfg.notify_port, cfg.password_file) == (
        4352,
        "auto",
        None,
        None,
    )


def test_yaml_numbers_for_class_and_input_codes_are_accepted() -> None:
    cfg = _config(pjlink_class=1, input_names={"HDMI1": 32})
    assert cfg.pjlink_class == "1"
    assert cfg.input_names == {"hdmi1": "32"}


def test_input_code_that_is_not_pjlink_is_rejected_with_the_name() -> None:
    with pytest.raises(ValidationError, match="hdmi1"):
        _config(input_names={"hdmi1": "HDMI"})


def test_inline_password_is_not_a_setting() -> None:
    with pytest.raises(ValidationError):
        _config(password="secret")


def test_configured_name_resolves_to_its_code() -> None:
    assert inputs.resolve("HDMI1", {"hdmi1": "32"}) == "32"


@pytest.mark.parametrize(
    ("source", "code"), [("digital1", "31"), ("rgb2", "12"), ("network1", "51"), ("31", "31")]
)
def test_default_names_and_raw_codes_work_without_config(source: str, code: str) -> None:
    assert inputs.resolve(source, {}) == code


def test_unknown_input_lists_what_would_work() -> None:
    with pytest.raises(InvalidArgument, match="hdmi1"):
        inputs.resolve("tv", {"hdmi1": "32"})


def test_class2_only_input_is_refused_on_a_class1_projector() -> None:
    with pytest.raises(InvalidArgument, match="class 2"):
        inputs.resolve("internal1", {}, pjclass=1)


def test_state_shows_configured_name_else_default_name() -> None:
    assert inputs.name_for("32", {"hdmi1": "32"}) == "hdmi1"
    assert inputs.name_for("31", {"hdmi1": "32"}) == "digital1"
