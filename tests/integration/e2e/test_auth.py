"""A wrong PJLink password shows as `auth_failed`, never leaks into the log, and fixing the
password file brings the projector back without restarting the daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.e2e.branch import running_branch, write_config
from tests.support.daemon import cli, wait_for
from tests.support.net import free_port

RIGHT = "Right-Horse-Battery-7731"
WRONG = "Wrong-Staple-Password-0042"


def test_wrong_projector_password_reports_auth_failed_and_never_logs_it(tmp_path: Path) -> None:
    secret = tmp_path / "projector.pass"
    secret.write_text(WRONG + "\n")
    secret.chmod(0o600)
    cfg = write_config(
        tmp_path,
        f"""\
  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {free_port()},
     password_file: projector.pass, poll_interval_s: 0.3, timeout_s: 1, retries: 0}}
""",
        log_level="debug",  # the chattiest the daemon gets: still no password
    )

    def projector_knows_the_right_password(emulator: Any) -> None:
        emulator.password = RIGHT

    adjust = {"lobby-projector": projector_knows_the_right_password}
    with running_branch(cfg, adjust) as (daemon, host):
        wait_for(lambda: daemon.device("lobby-projector")["restarts"] >= 1, timeout=30)
        shown = daemon.device("lobby-projector")
        assert (shown["online"], shown["reason"]) == (False, "auth_failed"), shown
        assert "password" in shown["detail"].lower()

        secret.write_text(RIGHT + "\n")  # the engineer fixes the file; no restart, no reload
        wait_for(
            lambda: (d := daemon.device("lobby-projector"))["online"] and d["reason"] == "ok",
            timeout=40,
            interval=0.5,
        )
        assert host.call(lambda: host.emulators["lobby-projector"].sessions) >= 2
        everything_shown = cli(
            "devices", "show", "lobby-projector", "--json", "--socket", daemon.socket
        ).stdout

    log = daemon.log()
    assert "auth_failed" in log and "device_restarting" in log  # the log did record the failure
    for password in (WRONG, RIGHT):
        assert password not in log
        assert password not in everything_shown
