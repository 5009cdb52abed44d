"""Every config we ship loads: the examples field engineers copy from, the demo, and example.yaml.

Secret files that a config names are created in a temporary copy (with the same layout), because
the loader rightly refuses a `*_file` that does not exist.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from drivers import registry
from edge_agent.settings.errors import ConfigError
from edge_agent.settings.loader import load
from edge_agent.settings.root import Settings
from tests.support.daemon import cli

CONFIG = Path(__file__).resolve().parents[3] / "config"
EXAMPLES = sorted([*CONFIG.glob("examples/*.yaml"), CONFIG / "demo.yaml"])
SECRETS_DIR = "/etc/edge-agent/secrets/"


def _secret_paths(node: Any) -> list[str]:
    """Every `*_file` value in the YAML, however deeply nested."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if str(k).endswith("_file") and isinstance(v, str)]
        return found + [p for v in node.values() for p in _secret_paths(v)]
    if isinstance(node, list):
        return [p for v in node for p in _secret_paths(v)]
    return []


def copy_with_secrets(src: Path, tmp: Path) -> Path:
    """`src` copied into `tmp` (beside a copy of its folder's files), its secret files created.

    Absolute secret paths under /etc/edge-agent/secrets/ are moved into `tmp/secrets/`.
    """
    dst_dir = tmp / "config"
    shutil.copytree(src.parent, dst_dir, ignore=shutil.ignore_patterns("*.yaml"))
    text = src.read_text(encoding="utf-8").replace(SECRETS_DIR, f"{tmp}/secrets/")
    dst = dst_dir / src.name
    dst.write_text(text, encoding="utf-8")
    for ref in _secret_paths(YAML(typ="safe").load(text)):
        path = Path(ref) if Path(ref).is_absolute() else dst_dir / ref
        if not path.exists() and path.resolve().is_relative_to(tmp):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("1234\n", encoding="utf-8")  # a valid MDC PIN is also a fine password
            path.chmod(0o640)
    return dst


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(CONFIG).as_posix())
def test_shipped_example_config_loads(path: Path, tmp_path: Path) -> None:
    try:
        settings = load(copy_with_secrets(path, tmp_path), environ={})
    except ConfigError as exc:
        pytest.fail(f"{path.relative_to(CONFIG)} does not load:\n{exc}")
    assert settings.devices or settings.cameras, "an example that configures nothing"


def _example(tmp_path: Path) -> Settings:
    return load(copy_with_secrets(CONFIG / "example.yaml", tmp_path), environ={})


def test_example_config_loads_once_its_secret_files_exist(tmp_path: Path) -> None:
    settings = _example(tmp_path)
    assert settings.agent.branch_id == "wf-001"
    assert settings.uplink.enabled and settings.uplink.mqtt.password_file is not None
    assert [c.id for c in settings.cameras] == ["entrance"]


def test_example_config_shows_one_device_of_every_protocol_driver(tmp_path: Path) -> None:
    shown = {str(d.driver) for d in _example(tmp_path).devices}
    protocol_drivers = {n for n in registry.BUILTIN if not n.startswith("simulated_")}
    assert shown == protocol_drivers, f"add an example device for {protocol_drivers - shown}"


def test_example_config_as_shipped_fails_only_on_its_missing_secret_files() -> None:
    try:
        load(CONFIG / "example.yaml", environ={})
        issues = []  # a gateway that already has every secret file in place
    except ConfigError as exc:
        issues = exc.issues
    for issue in issues:
        assert f"{SECRETS_DIR}" in issue.message and "does not exist" in issue.message, issue
        assert issue.hint is not None and "mode 0640" in issue.hint


def test_example_config_passes_config_check_on_the_command_line(tmp_path: Path) -> None:
    copy = copy_with_secrets(CONFIG / "example.yaml", tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "edge_agent", "config", "check", str(copy), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads(out.stdout)
    assert summary["ok"] and (summary["devices"], summary["cameras"]) == (5, 1)


def test_config_check_counts_devices_and_cameras_in_words() -> None:
    out = cli("config", "check", "config/examples/kiosk.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert ": 1 device, 0 cameras, hash " in out.stdout, out.stdout
    out = cli("config", "check", "config/examples/cameras.yaml")
    assert ": 0 devices, 1 camera, hash " in out.stdout, out.stdout
