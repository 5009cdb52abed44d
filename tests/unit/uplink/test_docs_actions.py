"""docs/mqtt.md tells HQ every action a built-in driver takes and the keys of its `args`.

Before, the contract named the command envelope but no action or argument: HQ could only learn
them from `unknown_action` / `invalid_argument` messages or the field engineers' pages.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from drivers.registry import BUILTIN
from drivers.sdk.types import CAPABILITY_ACTIONS, UNIVERSAL_ACTIONS

MQTT_MD = Path(__file__).resolve().parents[3] / "docs" / "mqtt.md"


def _action_rows() -> dict[str, str]:
    """action name -> its table row, from the `Actions and their args` section."""
    text = MQTT_MD.read_text()
    assert "### Actions and their `args`" in text, "docs/mqtt.md lists no actions for HQ"
    start = text.index("### Actions and their `args`")
    end = text.index("A successful result", start)
    rows: dict[str, str] = {}
    for line in text[start:end].splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for name in re.findall(r"`([a-z_]+)`", first_cell):
            rows[name] = line
    return rows


def test_every_builtin_action_and_arg_is_documented_for_hq() -> None:
    rows = _action_rows()
    missing: list[str] = []
    for driver, ref in BUILTIN.items():
        module, cls_name = ref.split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        actions = dict(UNIVERSAL_ACTIONS)
        for cap in cls.capabilities:
            actions.update(CAPABILITY_ACTIONS.get(cap, {}))
        actions.update(cls.extra_actions)
        for action, model in actions.items():
            row = rows.get(action)
            if row is None:
                missing.append(f"{driver}: action {action!r} not in the table")
                continue
            if action not in UNIVERSAL_ACTIONS and f"`{driver}`" not in row:
                missing.append(f"{driver}: not listed for {action!r}")
            for arg in model.model_fields:
                if f'"{arg}"' not in row:
                    missing.append(f"{driver}: {action} arg {arg!r} not documented")
    assert not missing, "\n".join(missing)
