"""The committed JSON Schemas are exactly what the payload models generate."""

from __future__ import annotations

import json

import jsonschema  # type: ignore[import-untyped]

from edge_agent.uplink import schemas


def test_committed_schemas_are_up_to_date() -> None:
    for name, schema in schemas.generate().items():
        path = schemas.SCHEMA_DIR / name
        assert path.exists(), f"{path} missing: run python -m edge_agent.uplink.schemas"
        assert path.read_text() == schemas.render(schema), (
            f"{name} is stale: run python -m edge_agent.uplink.schemas"
        )


def test_the_documented_examples_validate() -> None:
    status = {
        "state": "online",
        "session": 3,
        "version": "0.1.0",
        "config_hash": "ab",
        "started_at": 1.0,
        "ts": 2.0,
    }
    jsonschema.validate(status, json.loads((schemas.SCHEMA_DIR / "status.json").read_text()))
    bad = dict(status, state="sleeping")
    try:
        jsonschema.validate(bad, json.loads((schemas.SCHEMA_DIR / "status.json").read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("an unknown state must not validate")


def test_asyncapi_references_every_generated_schema() -> None:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load((schemas.SCHEMA_DIR.parent / "asyncapi.yaml").read_text())
    refs = {
        m["payload"]["$ref"].removeprefix("./schemas/")
        for m in doc["components"]["messages"].values()
    } | {d["$ref"].removeprefix("./schemas/") for d in doc["components"]["schemas"].values()}
    assert refs == set(schemas.generate())
