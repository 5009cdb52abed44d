"""Generate the JSON Schemas of the MQTT payloads into docs/schemas/ (`python -m` this module).

A test fails when the committed files differ from what the models generate, so the documented
contract cannot drift from the code. Besides the MQTT payloads, the `data` of every summary and
event the cameras send (`summary-*.json`, `event-*.json`) is generated from edge_agent.vision's
models: the uplink forwards `data` as it is, so its shape is the producer's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from edge_agent.vision.summaries import DATA_MODELS

from .payloads import SCHEMA_MODELS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
_BASE_ID = "https://edge-agent.invalid/schemas/v1/"


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema for every payload model."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in {**SCHEMA_MODELS, **DATA_MODELS}.items():
        schema = model.model_json_schema(mode="serialization")
        out[f"{name}.json"] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_BASE_ID}{name}.json",
            **schema,
        }
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        sys.stdout.write(f"{path}\n")
