"""Generate the JSON Schemas of the MQTT payloads into docs/schemas/ (`python -m` this module).

A test fails when the committed files differ from what the models generate, so the documented
contract cannot drift from the code. Besides the MQTT payloads, the `data` of every record is
generated from its producer's model: the uplink forwards `data` as it is, so its shape is the
producer's. Summaries and camera events (`summary-*.json`, `event-*.json`) come from
edge_agent.vision, the built-in drivers' events from drivers.events, a device's `state` event from
the `devices/{id}/state` payload, and readings (`reading.json`) from drivers.sdk.events.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from drivers.events import BUILTIN_EVENTS
from drivers.sdk.events import Reading
from edge_agent.vision.summaries import DATA_MODELS

from .payloads import SCHEMA_MODELS, DeviceStatePayload

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
_BASE_ID = "https://edge-agent.invalid/schemas/v1/"


def record_data_models() -> dict[str, type[BaseModel]]:
    """Schema file name -> model of a record's `data`: every summary and event kind, and readings."""
    devices: dict[str, type[BaseModel]] = {
        f"event-{model.KIND.replace('_', '-')}": model for model in BUILTIN_EVENTS
    }
    return {**DATA_MODELS, **devices, "event-state": DeviceStatePayload, "reading": Reading}


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema for every payload model."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in {**SCHEMA_MODELS, **record_data_models()}.items():
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
