"""A field engineer's broken YAML: every problem at once, each pointing at FILE:LINE:COL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load

GOOD = """\
agent:
  branch_id: wf-001
  agent_id: ipc-1
  data_dir: ./var
devices:
  - id: lobby-screen
    driver: simulated_display
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(text)
    return path


def messages(exc: ConfigError) -> list[str]:
    return [str(i) for i in exc.issues]


def test_good_config_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    settings = load(write(tmp_path, GOOD), environ={})
    assert settings.agent.branch_id == "wf-001"
    assert settings.agent.data_dir == (tmp_path / "var").resolve()
    assert settings.devices[0].id == "lobby-screen"


def test_every_problem_is_reported_at_once_with_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
agent:
  branch_id: wf-001
  agent_idd: ipc-1
uplink:
  mqtt: {port: "many", password_file: missing.secret}
devices:
  - id: a
    driver: simulated_display
    pol_interval_s: 3
  - id: a
    driver: simulated_display
  - id: p
    driver: pjlnk
""",
    )
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    out = messages(info.value)
    assert f"{path}:3:3: agent.agent_idd: unknown key (did you mean 'agent_id'?)" in out
    assert any(m.startswith(f"{path}:5:") and "uplink.mqtt.port" in m for m in out)
    assert any(m.startswith(f"{path}:5:") and "missing.secret does not exist" in m for m in out)
    assert (
        f"{path}:9:5: devices.0.pol_interval_s: unknown key (did you mean 'poll_interval_s'?)"
        in out
    )
    assert any(m.startswith(f"{path}:10:") and "duplicate device id 'a'" in m for m in out)
    assert any(
        m.startswith(f"{path}:13:")
        and "unknown driver 'pjlnk'" in m
        and "did you mean 'pjlink'" in m
        for m in out
    )
    assert len(out) >= 6


MERGED = """\
agent: {branch_id: b-1, agent_id: a-1}
devices:
  - &screen {id: a, driver: simulated_display, poll_interval_s: -1}
  - <<: *screen
    id: b
"""


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("agent: {}\n", {1}),  # an empty mapping has no key positions at all
        (MERGED, {3, 4}),  # b's bad value came in through `<<:`: b's own line
    ],
)
def test_empty_and_merged_mappings_still_give_located_errors(
    tmp_path: Path, text: str, lines: set[int]
) -> None:
    (tmp_path / "edge.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "edge.yaml", environ={})
    assert {i.line for i in info.value.issues} == lines, info.value


def test_tab_indentation_points_at_the_tab(tmp_path: Path) -> None:
    path = write(tmp_path, "agent:\n  branch_id: x\n\tagent_id: y\n")
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert messages(info.value) == [
        f"{path}:3:1: tab character in indentation (YAML indents with spaces only; replace the tab with spaces)"
    ]


def test_duplicate_yaml_key_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace("  agent_id: ipc-1\n", "  agent_id: ipc-1\n  agent_id: ipc-2\n")
    )
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert re.match(
        rf"{re.escape(str(path))}:4:\d+: YAML: found duplicate key", messages(info.value)[0]
    )


def test_environment_overrides_a_nested_key(tmp_path: Path) -> None:
    settings = load(
        write(tmp_path, GOOD),
        environ={
            "EDGE_AGENT__UPLINK__MQTT__PORT": "8883",
            "EDGE_AGENT__UPLINK__MQTT__HOST": "hq.example",
        },
    )
    assert settings.uplink.mqtt.port == 8883
    assert settings.uplink.mqtt.host == "hq.example"


def test_bad_environment_override_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, GOOD), environ={"EDGE_AGENT__STORE__MAX_SIZE_MB": "lots"})
    (issue,) = [m for m in messages(info.value) if "store.max_size_mb" in m]
    assert "set by EDGE_AGENT__STORE__MAX_SIZE_MB in the environment" in issue


def test_environment_override_of_no_section_is_an_error_not_ignored(tmp_path: Path) -> None:
    # `sync` lives under `uplink`: silently dropping this would leave the engineer believing it
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, GOOD), environ={"EDGE_AGENT__SYNC__COMPRESSION": "zstd"})
    (issue,) = messages(info.value)
    assert "EDGE_AGENT__SYNC__COMPRESSION" in issue and "no `sync` section" in issue
    settings = load(
        write(tmp_path, GOOD), environ={"EDGE_AGENT__UPLINK__SYNC__COMPRESSION": "zstd"}
    )
    assert settings.uplink.sync.compression == "zstd"


def test_a_bare_tls_key_turns_tls_on(tmp_path: Path) -> None:
    text = GOOD + "uplink:\n  mqtt:\n    host: hq.example\n    tls:\n"
    assert load(write(tmp_path, text)).uplink.mqtt.tls is not None
    assert load(write(tmp_path, GOOD)).uplink.mqtt.tls is None  # left out: plain MQTT


def test_environment_can_switch_a_section_off_and_replace_a_list(tmp_path: Path) -> None:
    settings = load(
        write(tmp_path, GOOD),
        environ={
            "EDGE_AGENT__UPLINK__ENABLED": "false",
            "EDGE_AGENT__DEVICES": '[{"id": "from-env", "driver": "simulated_sensor"}]',
            "UNRELATED__VAR": "x",
        },
    )
    assert settings.uplink.enabled is False
    assert [d.id for d in settings.devices] == ["from-env"]


def test_secret_file_that_exists_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "mqtt.secret").write_text("s3cret\n")
    settings = load(
        write(tmp_path, GOOD + "uplink:\n  mqtt: {username: a, password_file: mqtt.secret}\n"),
        environ={},
    )
    assert settings.uplink.mqtt.password_file == (tmp_path / "mqtt.secret").resolve()


def test_not_a_mapping_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, "- just\n- a list\n"), environ={})
    assert "must be a mapping" in messages(info.value)[0]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "nope.yaml", environ={})
    assert "cannot read config" in messages(info.value)[0]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.one_of(st.text(max_size=300).map(str.encode), st.binary(max_size=300)))
def test_any_bytes_give_a_config_error_or_settings_never_a_traceback(
    tmp_path: Path, raw: bytes
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        load(path, environ={})
    except ConfigError as exc:
        assert exc.issues and all(i.line >= 1 and i.col >= 1 for i in exc.issues)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(["branch_id", "agent_id", "data_dir", "log_level", "extra"]),
    value=st.one_of(
        st.integers(), st.text(max_size=20), st.none(), st.lists(st.integers(), max_size=3)
    ),
)
def test_mutated_agent_values_are_accepted_or_located(
    tmp_path: Path, key: str, value: object
) -> None:
    import json

    path = tmp_path / "mut.yaml"
    path.write_text(
        GOOD.replace("  data_dir: ./var\n", f"  data_dir: ./var\n  {key}: {json.dumps(value)}\n")
    )
    try:
        load(path, environ={})
    except ConfigError as exc:
        assert all(str(path) in str(i) for i in exc.issues)


PYDANTIC_WORDS = """\
agent: {branch_id: b-1, agent_id: a-1, data_dir: ./var}
devices:
  - {id: screen, driver: samsung_mdc}
  - {driver: simulated_display}
cameras:
  - id: door
    source: rtsp://192.0.2.10:secret/x
    tracker: 5
"""


def test_messages_are_ours_without_pydantic_prefixes_or_class_names(tmp_path: Path) -> None:
    path = write(tmp_path, PYDANTIC_WORDS)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert messages(info.value) == [
        f"{path}:3:5: devices.0: set exactly one of `host` (MDC over TCP) or `serial` (RS-232)",
        f"{path}:4:5: devices.1.id: required key is missing (add this key)",
        f"{path}:7:5: cameras.0.source: the URL's port is not a number from 0 to 65535 "
        "(a password belongs before the @, or in credentials_file)",
        f"{path}:8:5: cameras.0.tracker: Input should be a mapping (`key: value` lines or "
        "`{key: value}`) (got int: 5)",
    ]


PATTERN_WORDS = """\
agent: {branch_id: wf 001, agent_id: a-1, data_dir: ./var, log_level: verbose}
devices:
  - {id: "kiosk#1", driver: kiosk, base_url: "http://192.0.2.5", health_path: health}
  - id: tags
    driver: ble_beacons
    adapter: bt0
    beacons: [{id: a-1, ibeacon: {uuid: 8f0c0b4e-3f4a-4e5e-9b7b-6f1c2a3d4e5f, major: 1, minor: 2}}]
  - id: meter
    driver: modbus
    host: 192.0.2.9
    units: [{name: Main, unit_id: 1, points: [{name: V, address: 0, function: input}]}]
"""


def test_a_value_of_the_wrong_form_is_refused_in_words_not_as_a_regular_expression(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, PATTERN_WORDS)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    ident = "1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit"
    assert messages(info.value) == [
        f"{path}:1:9: agent.branch_id: Input should be {ident}",
        f"{path}:1:60: agent.log_level: Input should be 'debug', 'info', 'warning' or 'error'",
        f"{path}:3:6: devices.0.id: Input should be {ident}",
        f"{path}:3:66: devices.0.health_path: Input should be a path starting with '/'",
        f"{path}:6:5: devices.1.adapter: Input should be hciN, e.g. hci0",
        f"{path}:11:14: devices.2.units.0.name: Input should be 1 to 63 lower-case letters, "
        "digits, '_' or '-', starting with a letter or digit",
        f"{path}:11:48: devices.2.units.0.points.0.name: Input should be 1 to 63 lower-case "
        "letters, digits or '_', starting with a letter",
    ]


def test_plain_message_strips_the_assertion_prefix_too() -> None:
    from pydantic import BaseModel, ValidationError, field_validator

    from edge_agent.settings.errors import plain_message

    class Model(BaseModel):
        x: int

        @field_validator("x")
        @classmethod
        def _positive(cls, v: int) -> int:
            if v <= 0:  # an `assert` here would be rewritten by pytest
                raise AssertionError("x must be positive")
            return v

    with pytest.raises(ValidationError) as info:
        Model(x=-1)
    (err,) = info.value.errors()
    assert plain_message(err) == "x must be positive"


def test_a_duplicate_camera_id_names_the_camera_that_has_it_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + "cameras:\n"
        + "  - {id: door, source: rtsp://192.0.2.10/a}\n"
        + "  - {id: door, source: rtsp://192.0.2.11/a}\n",
    )
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    assert messages(info.value) == [
        f"{path}:10:6: cameras.1.id: duplicate camera id 'door' "
        "(also used by cameras.0; ids must be unique)"
    ]


@pytest.mark.parametrize("cameras_first", [False, True])
def test_a_camera_and_a_device_with_one_id_is_an_error_at_the_second(
    tmp_path: Path, cameras_first: bool
) -> None:
    cameras = "cameras:\n  - {id: lobby-screen, source: rtsp://192.0.2.10/a}\n"
    if cameras_first:  # GOOD's devices: come after the camera
        text = GOOD.replace("devices:\n", cameras + "devices:\n")
        expected = "8:5: devices.0.id: device id 'lobby-screen' is also a camera id (also used by cameras.0;"
    else:
        text = GOOD + cameras
        expected = "9:6: cameras.0.id: camera id 'lobby-screen' is also a device id (also used by devices.0;"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    (issue,) = messages(info.value)
    assert issue.startswith(f"{path}:{expected}"), issue
    assert "the CLI finds both by id" in issue
