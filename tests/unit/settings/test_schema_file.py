"""config/schema.json is what editors use to complete and check configs, so it must match the models.

A model change without `make schema` fails here, with the keys that differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from ruamel.yaml import YAML

from edge_agent.settings.schema import json_schema

CONFIG = Path(__file__).resolve().parents[3] / "config"
SCHEMA_FILE = CONFIG / "schema.json"
SHIPPED = sorted([CONFIG / "example.yaml", CONFIG / "demo.yaml", *CONFIG.glob("examples/*.yaml")])


def _differences(committed: dict[str, Any], generated: dict[str, Any]) -> list[str]:
    out = []
    for section in sorted(set(committed) | set(generated)):
        if section == "$defs":
            old, new = committed.get("$defs", {}), generated.get("$defs", {})
            out += [f"$defs.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif committed.get(section) != generated.get(section):
            out.append(section)
    return out


def test_committed_schema_matches_the_config_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    generated = json_schema(builtin_only=True)  # a plugin in this venv is not the repo's
    assert committed == generated, (
        "config/schema.json is out of date; run `make schema` and commit it. Differs in: "
        + ", ".join(_differences(committed, generated))
    )


def test_committed_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(CONFIG).as_posix())
def test_editor_schema_accepts_every_shipped_config(path: Path) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(data)
    ]
    assert not problems, f"{path.name}: an editor would flag " + "; ".join(problems)
