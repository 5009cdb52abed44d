"""Whatever an engineer (or a broken editor) puts in the config, the answer is a located ConfigError.

A wrong type, a `!!tag` that cannot be applied, a NUL or a huge number used to escape as TypeError or
ValueError: a traceback from `config check`, and `internal` from a reload.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from drivers import registry
from edge_agent.settings.agent import AgentSettings
from edge_agent.settings.cameras import CameraSettings
from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import config_hash, load
from edge_agent.settings.root import Settings
from edge_agent.settings.store import StoreSettings
from edge_agent.settings.uplink import MQTTSettings, UplinkSettings

AGENT = "agent:\n  branch_id: b1\n  agent_id: a1\n  data_dir: ./var\n"
HUGE = "1" + "0" * 5000

# (what is wrong, the file, the line the error must point at, words the message must hold)
USED_TO_CRASH = [
    ("cameras not a list", AGENT + "cameras: 5\n", 5, "cameras"),
    ("NUL in a secret path", AGENT + 'uplink:\n  mqtt: {password_file: "a\\0b"}\n', 6, "NUL"),
    ("NUL in data_dir", AGENT.replace("./var", '"./v\\0ar"'), 4, "NUL"),
    ("NUL in a camera source", AGENT + 'cameras:\n  - {id: c1, source: "a\\0b"}\n', 6, "NUL"),
    ("surrogate in data_dir", AGENT.replace("./var", '"\\ud800"'), 4, "surrogate"),
    ("impossible date", AGENT + "uplink: !!timestamp 2020-13-45\n", 5, "!!timestamp"),
    ("huge integer", AGENT + f"store: {{max_size_mb: {HUGE}}}\n", 5, "4300 digits"),
    ("huge hex integer", AGENT + f"store: {{max_size_mb: 0x{'f' * 5000}}}\n", 5, "4300 digits"),
    ("huge port", AGENT + f"devices:\n  - {{id: d, driver: pjlink, port: {HUGE}}}\n", 6, "!!int"),
    ("a bool that is not one", AGENT + "uplink: {enabled: !!bool maybe}\n", 5, "!!bool"),
    ("an empty int", AGENT + "store: {max_size_mb: !!int ''}\n", 5, "!!int"),
    ("a mapping tag on a word", AGENT + "store: !!omap x\n", 5, "!!omap"),
    ("nesting deeper than the stack", AGENT + "x: " + "[" * 600 + "]" * 600 + "\n", 1, "deep"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"), [c[1:] for c in USED_TO_CRASH], ids=[c[0] for c in USED_TO_CRASH]
)
def test_input_that_used_to_crash_is_a_located_config_error(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    issue = info.value.issues[0]
    assert (issue.file, issue.line) == (path, line), issue
    assert words in issue.message, issue


def test_bytes_that_are_not_utf8_are_located_on_their_line(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_bytes(AGENT.encode() + b"store: {synchronous: f\xfcll}\n")
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    (issue,) = info.value.issues
    assert (issue.line, issue.col) == (5, 23) and "not UTF-8" in issue.message


@pytest.mark.parametrize(
    "text",
    [AGENT + "cameras: 5\n", AGENT + "uplink: !!timestamp 2020-13-45\n"],
    ids=["wrong type", "bad tag"],
)
def test_config_check_prints_the_located_error_and_exits_3(tmp_path: Path, text: str) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "edge_agent", "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 3, out.stdout + out.stderr  # "config invalid" in the documented codes
    assert out.stderr.startswith(f"{path}:5:"), out.stderr
    assert "Traceback" not in out.stderr


# --- a YAML generator over the real section keys --------------------------------------------

SCALARS = st.one_of(
    st.sampled_from(
        [
            "5",
            "-1",
            "0",
            "1.5",
            "1e999",
            ".nan",
            "~",
            "true",
            "''",
            "x",
            "./var",
            "rtsp://cam:554/s",
            "rtsp://cam:abc/",
            "/dev/video0",
            '"a\\0b"',
            '"\\ud800"',
            '"\\udcff"',
            "!!timestamp 2020-13-45",
            "!!timestamp 2020-01-01",
            "!!bool maybe",
            "!!int ''",
            "!!int x",
            "!!float x",
            "!!binary aGk=",
            "!!omap x",
            "!!set {a}",
            "!!str 5",
            "!unknown x",
            "[]",
            "{}",
            "9" * 4301,  # one digit past the limit of int()
            "0x" + "f" * 3600,  # int() has no limit in hex, but str() of it does
        ]
    ),
    st.integers().map(str),
    st.text(max_size=12).map(json.dumps),  # a double-quoted YAML string with escapes
)


def _keys(model: type[BaseModel]) -> st.SearchStrategy[str]:
    return st.sampled_from([*model.model_fields, "unknown_key"])


def _flow_map(
    keys: st.SearchStrategy[str], values: st.SearchStrategy[str], first: str = ""
) -> st.SearchStrategy[str]:
    """`{first, key: value, ...}` with distinct keys."""
    pairs = st.lists(st.tuples(keys, values), max_size=4, unique_by=lambda kv: kv[0])
    return pairs.map(
        lambda kv: "{" + ", ".join([*filter(None, [first]), *(f"{k}: {v}" for k, v in kv)]) + "}"
    )


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        _flow_map(st.sampled_from(["a", "points", "id"]), inner),
    ),
    max_leaves=6,
)
DEVICE_KEYS = sorted(
    {k for name in registry.BUILTIN for k in registry.config_model(name).model_fields}
)
SECTIONS: dict[str, st.SearchStrategy[str]] = {
    "agent": _flow_map(_keys(AgentSettings), VALUES),
    "uplink": _flow_map(_keys(UplinkSettings), VALUES)
    | _flow_map(_keys(UplinkSettings), _flow_map(_keys(MQTTSettings), VALUES)),
    "store": _flow_map(_keys(StoreSettings), VALUES),
    "cameras": st.lists(_flow_map(_keys(CameraSettings), VALUES), max_size=2).map(
        lambda xs: "[" + ", ".join(xs) + "]"
    ),
    "devices": st.lists(
        st.sampled_from(registry.names()).flatmap(
            lambda driver: _flow_map(
                st.sampled_from([*DEVICE_KEYS, "unknown_key"]), VALUES, f"driver: {driver}"
            )
        ),
        max_size=2,
    ).map(lambda xs: "[" + ", ".join(xs) + "]"),
}


@st.composite
def configs(draw: st.DrawFn) -> str:
    """A config whose sections are real (or not), each mapping real keys to odd values."""
    names = draw(st.lists(st.sampled_from([*SECTIONS, "nonsense"]), max_size=5, unique=True))
    lines = [] if draw(st.booleans()) else [AGENT.rstrip("\n")]
    for name in names:
        value = draw(SECTIONS.get(name, VALUES) | VALUES)  # sometimes the wrong type entirely
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=configs())
def test_any_config_of_real_keys_and_odd_values_loads_or_gives_located_errors(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        loaded = load(path, environ={})
    except ConfigError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file == path
            assert 1 <= issue.line <= text.count("\n") + 1, issue
            assert issue.col >= 1, issue
        return
    assert isinstance(loaded, Settings)
    config_hash(loaded)  # what `config check` prints next
