"""`edge-agent simulate` and `make demo` when some emulators cannot start: a port another program
holds, a serial port without socat. Each is named by where the config has it, the others are
served, and the exit code tells a script. A host name or serial path no driver can use never gets
that far: the config is refused."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.daemon import agent_config, cli, demo, interrupt, simulate, wait_for


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def flat(text: str) -> str:
    """Rich wraps long lines on a pipe; a person reads them whole."""
    return " ".join(text.split())


def test_simulate_serves_what_started_then_exits_1_naming_what_never_ran(
    tmp_path: Path, taken_tcp: int, loopback_port: int
) -> None:
    no_socat = tmp_path / "bin"  # a PC without socat: no serial port can be emulated
    no_socat.mkdir()
    cfg = agent_config(
        tmp_path,
        f"  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {taken_tcp}}}\n"
        f"  - {{id: lobby-screen, driver: samsung_mdc, host: 127.0.0.1, port: {loopback_port}}}\n"
        f"  - {{id: teller-screen, driver: samsung_mdc, serial: {{port: {tmp_path}/tty0}}}}\n",
    )
    out, err = tmp_path / "simulate.out", tmp_path / "simulate.err"
    proc = simulate(cfg, out, err, {"PATH": str(no_socat)})
    try:
        wait_for(lambda: "lobby-screen" in out.read_text() or proc.poll() is not None)
        assert proc.poll() is None, "one emulator started: simulate serves it"
        with socket.create_connection(("127.0.0.1", loopback_port), timeout=5):
            pass  # the screen that started really listens
    finally:
        code = interrupt(proc)
    said = err.read_text()
    assert code == 1, said  # before: 0, so `make demo`, CI or a script could not tell
    assert (
        f"emulator devices.0 (lobby-projector, pjlink) did not start: cannot listen on tcp "
        f"127.0.0.1:{taken_tcp}: Address already in use (another program on that port?)"
    ) in flat(said)
    assert (
        "emulator devices.2 (teller-screen, samsung_mdc) did not start: socat is not installed"
        in flat(said)
    )
    assert last_line(said) == (
        "stopped; 2 of 3 emulators never ran: devices.0 (lobby-projector, pjlink), "
        "devices.2 (teller-screen, samsung_mdc) (the errors are above)"
    )
    assert "Traceback" not in said


def test_simulate_with_no_emulator_able_to_start_exits_1_at_once_naming_each(
    tmp_path: Path, taken_tcp: int
) -> None:
    no_socat = tmp_path / "bin"
    no_socat.mkdir()
    cfg = agent_config(
        tmp_path,
        f"  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {taken_tcp}}}\n"
        f"  - {{id: teller-screen, driver: samsung_mdc, serial: {{port: {tmp_path}/tty0}}}}\n",
    )
    # `cli` waits at most 20 s: a simulate that served nothing and waited for Ctrl-C fails here
    ran = cli("simulate", "--config", str(cfg), env={"PATH": str(no_socat)})
    said = ran.stderr
    assert ran.returncode == 1, ran.stdout + said
    assert "Traceback" not in said
    assert (
        f"emulator devices.0 (lobby-projector, pjlink) did not start: cannot listen on tcp "
        f"127.0.0.1:{taken_tcp}: Address already in use" in flat(said)
    )
    assert (
        "emulator devices.1 (teller-screen, samsung_mdc) did not start: socat is not installed"
        in flat(said)
    )
    assert last_line(said) == (
        "no emulator could start: devices.0 (lobby-projector, pjlink), "
        "devices.1 (teller-screen, samsung_mdc) (the errors are above)"
    )


def test_simulate_refuses_a_host_or_serial_path_no_driver_can_use_before_serving_anything(
    tmp_path: Path, loopback_port: int
) -> None:
    # Before, these passed the config, simulate named them as emulators that did not start
    # (UnicodeError from the idna codec, ValueError: embedded null byte), and the daemon's
    # drivers failed on them at run time.
    bad_host = "a" * 64 + ".example"  # a DNS label is at most 63 characters
    cfg = agent_config(
        tmp_path,
        f"  - {{id: lobby-screen, driver: samsung_mdc, host: 127.0.0.1, port: {loopback_port}}}\n"
        f"  - {{id: back-projector, driver: pjlink, host: {bad_host}}}\n"
        f'  - {{id: teller-screen, driver: samsung_mdc, serial: {{port: "{tmp_path}/tty\\0"}}}}\n',
    )
    ran = cli("simulate", "--config", str(cfg))
    said = flat(ran.stderr)
    assert ran.returncode == 3, ran.stdout + ran.stderr  # the config is invalid: nothing served
    assert "Traceback" not in said
    assert f"{cfg}:5:" in said and "devices.1.host: 'aaaaaaaa" in said
    assert "has a label of 64 characters; a DNS label is at most 63" in said
    assert f"{cfg}:6:" in said and "devices.2.serial.port: " in said
    assert "holds a NUL character, which no file name can" in said
    assert "lobby-screen" not in ran.stdout, "no emulator was started"


def test_a_demo_that_only_partly_started_ends_with_exit_1_naming_what_never_ran(
    tmp_path: Path, taken_tcp: int, loopback_port: int
) -> None:
    cfg = agent_config(
        tmp_path,
        f"  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {taken_tcp}}}\n"
        f"  - {{id: lobby-screen, driver: samsung_mdc, host: 127.0.0.1, port: {loopback_port}}}\n",
    )
    out = tmp_path / "demo.out"
    proc = demo(cfg, out)
    try:
        wait_for(lambda: "Stop with Ctrl-C" in out.read_text() or proc.poll() is not None)
        wait_for(  # the agent is up: its control socket answers
            lambda: cli("status", "--config", str(cfg)).returncode == 0 or proc.poll() is not None
        )
        assert proc.poll() is None, out.read_text()
    finally:
        code = interrupt(proc)
    text = out.read_text()
    assert code == 1, text[-3000:]  # before: 0, as if the whole branch had run
    assert last_line(text) == (
        "the demo ran without 1 of 2 emulators (their devices stayed offline): "
        "devices.0 (lobby-projector, pjlink) (the errors are above)"
    )
    assert "Traceback" not in text


def test_a_demo_whose_emulators_all_fail_exits_1_at_once(tmp_path: Path, taken_tcp: int) -> None:
    cfg = agent_config(
        tmp_path,
        f"  - {{id: lobby-projector, driver: pjlink, host: 127.0.0.1, port: {taken_tcp}}}\n",
    )
    out = tmp_path / "demo.out"
    proc = demo(cfg, out)
    try:
        code = proc.wait(timeout=20)  # before: the agent ran with every device offline
    finally:
        interrupt(proc)
    text = out.read_text()
    assert code == 1, text
    assert last_line(text) == (
        "no emulator could start: devices.0 (lobby-projector, pjlink) (the errors are above)"
    )


def test_stopping_simulate_while_its_emulators_start_leaves_none_running(tmp_path: Path) -> None:
    """SIGTERM (systemd, a script) or Ctrl-C while the BlueZ stand-in is still starting: the
    serial port's socat, started just before, must not outlive simulate."""
    import psutil

    tty = tmp_path / "tty-teller"
    cfg = agent_config(
        tmp_path,
        f"  - {{id: teller-screen, driver: samsung_mdc, serial: {{port: {tty}}}}}\n"
        "  - id: beacons\n"
        "    driver: ble_beacons\n"
        "    beacons: [{id: b1, ibeacon: {uuid: b9407f30-f5f8-466e-aff9-25556b57fe6d, major: 1, minor: 1}}]\n",
    )
    out, err = tmp_path / "simulate.out", tmp_path / "simulate.err"
    proc = simulate(cfg, out, err)
    try:
        wait_for(lambda: tty.exists() or proc.poll() is not None, timeout=30, interval=0.01)
        assert "beacons" not in out.read_text(), "the BLE stand-in had already started"
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any(str(tty) in " ".join(c.cmdline()) for c in children), "socat runs"
        proc.terminate()
        code = proc.wait(timeout=30)
    finally:
        interrupt(proc)  # only if it still runs
    said = err.read_text()
    left = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    for child in left:  # a failing run must not leave them to the next test
        child.kill()
    assert left == [], [c.cmdline() for c in left]
    assert code == 0, said
    assert "Traceback" not in said
