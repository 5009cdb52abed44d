"""What a daemon without an uplink leaves unloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_an_agent_without_an_uplink_never_loads_the_mqtt_client(tmp_path: Path) -> None:
    # aiomqtt (and paho under it) loads only when `uplink.enabled` is on: `Agent.uplink` is typed
    # with the Uplink class, imported for the type checker only.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import edge_agent.cli\n"
        "from edge_agent.runtime.app import Agent\n"
        "from edge_agent.settings.root import Settings\n"
        "s = Settings.model_validate({'agent': {'branch_id': 't-001', 'agent_id': 'ipc-1',"
        f" 'data_dir': {str(tmp_path)!r}}}, 'uplink': {{'enabled': False}}}})\n"
        "Agent(Path('edge.yaml'), s)\n"
        "print(sorted(m for m in ('aiomqtt', 'paho', 'edge_agent.uplink') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
