"""A config that is far too big, or whose aliases multiply ("billion laughs"), is refused at once
with a located ConfigError, and `config check` exits 3, instead of holding the process for minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.error import YAMLError

from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load
from edge_agent.settings.yamltext import MAX_ALIAS_VALUES, MAX_FILE_BYTES, load_yaml
from tests.support.daemon import cli

AGENT = "agent:\n  branch_id: b1\n  agent_id: a1\n  data_dir: ./var\n"


def laughs(levels: int) -> str:
    """A config whose `devices` expand to 9**levels words through nested aliases (`l0` on line 5)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return AGENT + "\n".join(lines) + f"\ndevices: *l{levels - 1}\n"


def padded(size: int) -> str:
    """A good config padded with a comment to exactly `size` bytes."""
    head = AGENT + "devices:\n  - {id: lobby-screen, driver: simulated_display}\n# "
    return head + "x" * (size - len(head) - 1) + "\n"


def located(path: Path, text: str) -> tuple[int, int, str]:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, environ={})
    (issue,) = info.value.issues
    assert issue.file == path
    return issue.line, issue.col, issue.message


def test_config_over_one_mib_is_refused_naming_the_file_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    assert located(path, padded(MAX_FILE_BYTES + 1)) == (
        1,
        1,
        "config is larger than the 1 MiB (1,048,576 bytes) limit",
    )


def test_config_of_exactly_one_mib_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(padded(MAX_FILE_BYTES), encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert [d.id for d in load(path, environ={}).devices] == ["lobby-screen"]


def test_config_that_never_ends_is_refused_without_reading_it_all() -> None:
    with pytest.raises(ConfigError, match="larger than the 1 MiB"):
        load("/dev/zero", environ={})


def test_alias_bomb_is_refused_at_its_largest_anchor(tmp_path: Path) -> None:
    line, col, message = located(tmp_path / "edge.yaml", laughs(6))
    assert (line, col) == (10, 5)  # `l5: &l5 [...]`, the anchor `devices` repeats
    assert message == "YAML: aliases repeat more than 100,000 values, &l5 the largest"


def test_alias_that_holds_itself_is_refused_at_its_anchor(tmp_path: Path) -> None:
    text = AGENT + "devices:\n  - &d {id: x, driver: simulated_display, name: [*d]}\n"
    assert located(tmp_path / "edge.yaml", text) == (
        6,
        5,
        "YAML: &d holds itself through an alias; it would never end",
    )


def test_settings_shared_through_aliases_still_load(tmp_path: Path) -> None:
    devices = "".join(f"  - {{<<: *screen, id: screen-{i}}}\n" for i in range(1, 200))
    path = tmp_path / "edge.yaml"
    path.write_text(
        AGENT + "devices:\n  - &screen {id: screen-0, driver: simulated_display}\n" + devices,
        encoding="utf-8",
    )
    assert len(load(path, environ={}).devices) == 200


@pytest.mark.parametrize("uses", [101, 102])
def test_aliases_may_repeat_up_to_the_limit_and_no_more(uses: int) -> None:
    block = "[" + ", ".join(["1"] * 999) + "]"  # 1,000 values with the list itself
    text = f"a: &a {block}\nb: [{', '.join(['*a'] * (uses - 1))}]\n"
    if (uses - 1) * 1000 <= MAX_ALIAS_VALUES:
        assert len(load_yaml(text, round_trip=True)["b"]) == uses - 1
    else:
        with pytest.raises(YAMLError, match="aliases repeat more than 100,000 values"):
            load_yaml(text, round_trip=True)


@pytest.mark.parametrize(
    ("text", "where"),
    [(laughs(10), ":14:5: YAML: aliases repeat"), (padded(2 * MAX_FILE_BYTES), ":1:1: config is")],
    ids=["billion laughs", "2 MiB"],
)
def test_config_check_refuses_it_with_its_place_and_exits_3(
    tmp_path: Path, text: str, where: str
) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(text, encoding="utf-8")
    out = cli("config", "check", str(path), timeout=60)  # the bomb used to run for many minutes
    assert out.returncode == 3, out.stdout + out.stderr
    assert out.stderr.startswith(f"{path}{where}"), out.stderr
