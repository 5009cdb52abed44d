"""A full disk under the running daemon: it says so, keeps serving, and loses nothing it held.

Needs root (CAP_SYS_ADMIN) to mount a small tmpfs; skipped with the reason otherwise.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, cli, wait_for


def config_on(disk: Path, tmp_path: Path, devices: str) -> Path:
    """A branch whose store lives on `disk`, with the uplink off and these `devices:` lines."""
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"agent: {{branch_id: t-001, agent_id: ipc-1, data_dir: {disk}/data, "
        "control_socket: ./run/c.sock}\n"
        f"uplink: {{enabled: false}}\ndevices:\n{devices}"
    )
    return cfg


@pytest.mark.disk_size("4m")
def test_full_disk_is_reported_the_daemon_keeps_serving_and_held_items_land_later(
    small_disk: Path, tmp_path: Path
) -> None:
    cfg = config_on(
        small_disk,
        tmp_path,
        # 200 readings a second: what is held while the disk is full must fit in the space freed,
        # even when a busy machine stretches the wait (at 1000/s it refilled the 4 MB at once).
        "  - {id: firehose, driver: simulated_sensor, poll_interval_s: 0.05, readings_per_poll: 10}\n"
        "  - {id: screen, driver: simulated_display, poll_interval_s: 0.5}\n",
    )
    d = Daemon(cfg).start()
    filler = small_disk / "filler"
    try:
        wait_for(lambda: d.status()["store"]["accepted_total"] > 500, timeout=30)
        # Take (almost) all the space that is left.
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
        )
        wait_for(lambda: d.status()["store"]["error"] == "disk_full", timeout=30)
        full = d.status()
        assert full["store"]["held_in_memory"] > 0
        assert d.device("screen")["online"], "devices keep running on a full disk"
        accepted_while_full = full["store"]["accepted_total"]
        filler.unlink()
        wait_for(lambda: d.status()["store"]["error"] is None, timeout=30)
        after = d.status()["store"]
        assert after["accepted_total"] > accepted_while_full
        wait_for(
            lambda: d.status()["store"]["held_in_memory"] < 1000, timeout=30
        )  # the backlog in RAM landed
        assert sum(d.status()["store"]["dropped_by_class"].values()) == 0, "nothing was dropped"
    finally:
        filler.unlink(missing_ok=True)
        assert d.stop() == 0


@pytest.mark.disk_size("2m")
def test_a_device_state_change_on_a_full_disk_is_a_warning_not_a_crash(
    small_disk: Path, tmp_path: Path
) -> None:
    cfg = config_on(
        small_disk, tmp_path, "  - {id: screen, driver: simulated_display, poll_interval_s: 0.5}\n"
    )
    d = Daemon(cfg).start()
    filler = small_disk / "filler"
    try:
        wait_for(lambda: d.device("screen")["online"])
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
        )
        out = cli("devices", "cmd", "screen", "power", "on", "--socket", d.socket)
        assert out.returncode == 0, out.stdout + out.stderr  # the command itself still runs
        wait_for(lambda: '"device_state_not_saved"' in d.log())
        assert d.device("screen")["state"]["power"] == "on"
    finally:
        filler.unlink(missing_ok=True)
        assert d.stop() == 0
    assert '"task_crashed"' not in d.log()


@pytest.mark.disk_size("2m")
def test_a_daemon_started_on_a_full_disk_says_the_disk_is_full_and_what_to_do(
    small_disk: Path, tmp_path: Path
) -> None:
    cfg = config_on(small_disk, tmp_path, "  []\n")
    (small_disk / "data").mkdir()
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={small_disk}/filler", "bs=64k"],
        capture_output=True,
        check=False,
    )
    out = cli("run", "--config", str(cfg))
    said = " ".join(out.stderr.split())
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"the disk holding {small_disk}/data is full: free space there" in said, said
    assert "another edge-agent" not in said, "not the hint for a locked store"
    assert "Traceback" not in out.stdout + out.stderr
