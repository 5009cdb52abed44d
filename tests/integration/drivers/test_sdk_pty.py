"""The shared socat pty pair: a working null-modem cable, and typed errors when it cannot be one."""

from __future__ import annotations

import os
import re
import select
from pathlib import Path

import pytest
import serial

from drivers.sdk import PortInUse, Reason, Unreachable
from drivers.sdk.pty import PtyPair


def read_available(fd: int, want: int) -> bytes:
    """Up to `want` bytes from fd, waiting at most 5 s in total (select, no busy loop)."""
    got = b""
    for _ in range(50):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            got += os.read(fd, want - len(got))
        if len(got) >= want:
            break
    return got


async def test_bytes_written_at_the_configured_path_reach_the_device_end(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path / "ttyUSB9")
    await pair.start()
    try:
        device = os.open(pair.device_path, os.O_RDWR | os.O_NOCTTY)
        try:
            with serial.Serial(str(tmp_path / "ttyUSB9"), 9600, timeout=5) as host:
                host.write(b"\xaa\x11\x00\x00\x11")
                assert read_available(device, 5) == b"\xaa\x11\x00\x00\x11"
                os.write(device, b"\xaa\xff\x00\x03A\x11\x01\x55")
                assert host.read(8) == b"\xaa\xff\x00\x03A\x11\x01\x55"
        finally:
            os.close(device)
    finally:
        await pair.stop()


async def test_stop_removes_both_ends(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path / "ttyMDC0")
    await pair.start()
    device = pair.device_path
    await pair.stop()
    assert not os.path.lexists(tmp_path / "ttyMDC0")
    assert not device.parent.exists()
    await pair.stop()  # a second stop is harmless


async def test_taken_path_reports_port_in_use_and_is_left_alone(tmp_path: Path) -> None:
    taken = tmp_path / "ttyS0"
    taken.write_text("not a tty", encoding="utf-8")
    with pytest.raises(PortInUse, match=re.escape(str(taken))) as err:
        await PtyPair(taken).start()
    assert err.value.reason is Reason.CONFIG_ERROR
    assert taken.read_text(encoding="utf-8") == "not a tty"


async def test_a_running_pair_keeps_its_path_from_a_second_one(tmp_path: Path) -> None:
    first = PtyPair(tmp_path / "ttyRS485")
    await first.start()
    try:
        with pytest.raises(PortInUse, match="already exists"):
            await PtyPair(tmp_path / "ttyRS485").start()
        assert first.running
    finally:
        await first.stop()


async def test_stale_link_left_by_a_killed_socat_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "ttyMDC1"
    stale.symlink_to("/dev/pts/987654")  # what a SIGKILLed socat leaves behind
    pair = PtyPair(stale)
    await pair.start()
    try:
        assert stale.resolve() != Path("/dev/pts/987654")
        assert stale.exists()
    finally:
        await pair.stop()


async def test_missing_directory_reports_unreachable_naming_it(tmp_path: Path) -> None:
    with pytest.raises(Unreachable, match="no-such-dir"):
        await PtyPair(tmp_path / "no-such-dir" / "tty").start()


async def test_missing_socat_says_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Unreachable, match="socat is not installed") as err:
        await PtyPair(tmp_path / "tty").start()
    assert "apt-get install socat" in err.value.message
    assert not os.path.lexists(tmp_path / "tty")


async def test_socat_failing_reports_socat_own_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "socat"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'echo "2026/11/28 10:00:00 socat[42] E symlink(/dev/pts/3, x): Read-only file system" >&2\n'
        "exit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(Unreachable, match="Read-only file system") as err:
        await PtyPair(tmp_path / "tty").start()
    assert str(tmp_path / "tty") in err.value.message
