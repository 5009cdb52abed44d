"""A camera file (config/cameras/, for `vision replay`) given to `config check` or `run` is named
as one, in one line, instead of a dozen errors that ask for `agent:` and call `source` a typo of
`store`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.settings.environ import SECTIONS
from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load
from tests.support.daemon import REPO, cli

CAMERA_KEYS = ["id", "fps", "width", "height", "lines", "zones", "ignore", "detector", "tracker"]


def test_config_check_on_a_shipped_camera_file_says_it_is_one() -> None:
    got = cli("config", "check", "config/cameras/vtest.yaml")
    assert got.returncode == 3, got.stdout + got.stderr
    lines = got.stderr.splitlines()
    assert lines[0].startswith("config/cameras/vtest.yaml:5:1: this is a camera file"), lines
    assert "vision replay VIDEO --camera-config FILE" in lines[0]
    assert lines[1:] == ["1 problem(s) in config/cameras/vtest.yaml"], lines
    source = (REPO / "config/cameras/vtest.yaml").read_text().splitlines()[4]
    assert source.startswith("source:"), "the line the message points at"


def _write(path: Path, data: dict[str, object]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


@settings(max_examples=60, deadline=None)
@given(
    source=st.text(max_size=30),
    extra=st.dictionaries(
        st.one_of(st.sampled_from(CAMERA_KEYS), st.text(max_size=8)),
        st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers())),
        max_size=5,
    ),
    section=st.one_of(st.none(), st.sampled_from(SECTIONS)),
)
def test_only_a_file_with_source_and_no_config_section_is_called_a_camera_file(
    tmp_path_factory: pytest.TempPathFactory,
    source: str,
    extra: dict[str, object],
    section: str | None,
) -> None:
    extra.pop("source", None)
    data: dict[str, object] = {"source": source, **extra}
    if section is not None:
        data[section] = {}
    path = _write(tmp_path_factory.mktemp("cam") / "c.yaml", data)
    try:
        load(path, environ={})
    except ConfigError as exc:
        camera = [i for i in exc.issues if "camera file" in i.message]
        no_section = not any(k in SECTIONS for k in data)
        assert bool(camera) == no_section, exc.issues
        if no_section:
            assert len(exc.issues) == 1, exc.issues
    else:
        raise AssertionError("a file with `source` at the top is never a valid config")
