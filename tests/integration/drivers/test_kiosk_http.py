"""Kiosk driver <-> emulator over real loopback HTTP, WebSocket and UDP."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from drivers.kiosk.codec import parse_wol
from drivers.kiosk.config import KioskConfig
from drivers.kiosk.driver import KioskDriver
from drivers.kiosk.emulator import KioskEmulator, from_config
from drivers.sdk import (
    AuthFailed,
    Command,
    DeviceReportedError,
    DeviceTimeout,
    ProtocolError,
    Reason,
    Unreachable,
)
from drivers.sdk.testing import RecordingContext
from tests.support.net import free_port

TOKEN = "s3cret-kiosk-token"
MAC = "02:00:00:00:00:2a"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
async def kiosk(loopback_port: int) -> AsyncIterator[KioskEmulator]:
    emu = KioskEmulator(
        port=loopback_port, token=TOKEN, mac=MAC, wol_port=free_port(socket.SOCK_DGRAM)
    )
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


def config(emu: KioskEmulator, token_file: Path, **extra: object) -> KioskConfig:
    return KioskConfig.model_validate(
        {
            "id": "kiosk-1", "driver": "kiosk", "base_url": emu.base_url,
            "token_file": str(token_file), "timeout_s": 1, "retries": 0, "mac": MAC,
            "wol_broadcast": "127.0.0.1", "wol_port": emu.wol_port or 9, **extra,
        }
    )  # fmt: skip


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.02)


async def test_poll_returns_the_kiosk_health(kiosk: KioskEmulator, token_file: Path) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        state = await driver.poll()
        assert state["power"] == "on"
        assert state["status"] == "ok"
        assert state["version"] == "4.2.0"
        probe = await driver.probe()
        assert probe["model"] == "EA-Kiosk 15"
    finally:
        await driver.stop()


async def test_wrong_token_reports_auth_failed(kiosk: KioskEmulator, tmp_path: Path) -> None:
    bad = tmp_path / "bad.token"
    bad.write_text("nope")
    driver = KioskDriver(config(kiosk, bad), RecordingContext())
    with pytest.raises(AuthFailed, match="token_file") as err:
        await driver.start()
    assert err.value.reason is Reason.AUTH_FAILED
    await driver.stop()


async def test_server_error_reports_device_error(kiosk: KioskEmulator, token_file: Path) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        kiosk.faults.error_code = "printer_jam"
        with pytest.raises(DeviceReportedError, match=r"HTTP 500.*printer_jam"):
            await driver.poll()
    finally:
        await driver.stop()


async def test_garbage_body_reports_protocol_error(kiosk: KioskEmulator, token_file: Path) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        kiosk.faults.garbage = True
        with pytest.raises(ProtocolError, match="not JSON"):
            await driver.poll()
    finally:
        await driver.stop()


async def test_kiosk_hanging_mid_session_reports_timeout(
    kiosk: KioskEmulator, token_file: Path
) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        kiosk.faults.silent = True
        with pytest.raises(DeviceTimeout):
            await driver.poll()
        kiosk.faults.clear()
        assert (await driver.poll())["status"] == "ok"  # recovers on the next poll
    finally:
        await driver.stop()


async def test_socket_closed_mid_request_reports_unreachable(
    kiosk: KioskEmulator, token_file: Path
) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        kiosk.faults.disconnect = True
        with pytest.raises(Unreachable, match="closed the connection"):
            await driver.poll()
    finally:
        await driver.stop()


async def test_each_retried_attempt_is_logged_once_and_the_last_failure_is_the_callers(
    kiosk: KioskEmulator, token_file: Path
) -> None:
    ctx = RecordingContext()
    driver = KioskDriver(config(kiosk, token_file, retries=1), ctx)
    await driver.start()
    try:
        kiosk.faults.disconnect = True
        with pytest.raises(Unreachable):
            await driver.poll()
    finally:
        await driver.stop()
    failed = [(lvl, kw) for lvl, event, kw in ctx.log.records if event == "kiosk_request_retry"]
    # The second failure is raised (Unreachable above): the supervisor reports it, once.
    assert [(lvl, kw["path"], kw["attempt"], kw["reason"]) for lvl, kw in failed] == [
        ("info", "/health", 1, "unreachable"),
    ]
    assert all(TOKEN not in str(kw) for _, kw in failed)


async def test_nothing_listening_reports_unreachable(token_file: Path) -> None:
    emu = KioskEmulator(port=free_port())  # never started: the port refuses connections
    driver = KioskDriver(config(emu, token_file), RecordingContext())
    with pytest.raises(Unreachable, match="cannot connect"):
        await driver.start()
    await driver.stop()


async def test_power_on_sends_a_magic_packet_for_the_configured_mac(token_file: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", port))
        rx.settimeout(5)
        emu = KioskEmulator(port=free_port(), wol_port=port)
        driver = KioskDriver(config(emu, token_file), RecordingContext())
        result = await driver.execute(Command(action="power", args={"state": "on"}))
        packet = await asyncio.to_thread(rx.recv, 200)
    assert result == {"power": "waking", "mac": MAC}
    assert len(packet) == 102
    assert parse_wol(packet) == bytes.fromhex("02000000002a")


async def test_power_off_then_wake_on_lan_brings_the_kiosk_back(
    kiosk: KioskEmulator, token_file: Path
) -> None:
    driver = KioskDriver(config(kiosk, token_file), RecordingContext())
    await driver.start()
    try:
        result = await driver.execute(Command(action="power", args={"state": "off"}))
        assert result["response"] == {"power": "shutting_down"}
        await until(lambda: kiosk.state["power"] == "off")
        with pytest.raises(Unreachable):
            await driver.poll()
        await driver.execute(Command(action="wake", args={}))
        await until(lambda: kiosk.state["power"] == "on")
        assert kiosk.wol_received == [MAC]
        assert (await driver.poll())["status"] == "ok"
    finally:
        await driver.stop()


async def test_scene_and_custom_commands_reach_the_kiosk_as_json(
    kiosk: KioskEmulator, token_file: Path
) -> None:
    commands = {
        "power_off": {"path": "/power/off"},
        "scene": {"path": "/scene", "body": {"name": "{name}"}},
        "restart_app": {"method": "POST", "path": "/app/restart", "body": {"reason": "{why}"}},
    }
    driver = KioskDriver(config(kiosk, token_file, commands=commands), RecordingContext())
    await driver.start()
    try:
        await driver.execute(Command(action="scene", args={"name": "promo-mortgage"}))
        assert kiosk.state["scene"] == "promo-mortgage"
        await driver.execute(
            Command(action="run", args={"name": "restart_app", "args": {"why": "hq"}})
        )
        assert ("POST", "/app/restart", {"reason": "hq"}) in kiosk.requests
    finally:
        await driver.stop()


async def test_websocket_heartbeats_feed_the_state(kiosk: KioskEmulator, token_file: Path) -> None:
    driver = KioskDriver(config(kiosk, token_file, websocket_path="/ws"), RecordingContext())
    await driver.start()
    try:
        await until(lambda: driver._watcher is not None and driver._watcher.last_at is not None)
        state = await driver.poll()
        assert state["status"] == "ok"
        assert state["type"] == "heartbeat"
        assert not any(r[0] == "GET" for r in kiosk.requests)  # push mode needs no health polls
    finally:
        await driver.stop()


async def test_missing_heartbeats_report_timeout(kiosk: KioskEmulator, token_file: Path) -> None:
    now = [5000.0]
    ctx = RecordingContext(clock=lambda: now[0])
    driver = KioskDriver(
        config(kiosk, token_file, websocket_path="/ws", heartbeat_timeout_s=30), ctx
    )
    await driver.start()
    try:
        await until(lambda: driver._watcher is not None and driver._watcher.last_at is not None)
        kiosk.heartbeats_paused = True
        error: DeviceTimeout | None = None
        for _ in range(5):  # a heartbeat sent just before the pause may land late: look again
            await asyncio.sleep(0.2)
            now[0] += 31
            try:
                await driver.poll()
            except DeviceTimeout as exc:
                error = exc
                break
        assert error is not None and "no heartbeat" in str(error)
    finally:
        await driver.stop()


async def test_one_hanging_kiosk_does_not_delay_another(token_file: Path) -> None:
    hung = KioskEmulator(port=free_port(), token=TOKEN)
    healthy = KioskEmulator(port=free_port(), token=TOKEN)
    await hung.start()
    await healthy.start()
    a = KioskDriver(config(hung, token_file, timeout_s=30), RecordingContext())
    b = KioskDriver(config(healthy, token_file), RecordingContext())
    try:
        await a.start()
        await b.start()
        hung.faults.silent = True
        hung_poll = asyncio.create_task(a.poll())
        await asyncio.sleep(0)  # the hung request is in flight
        assert (await b.poll())["status"] == "ok"
        assert not hung_poll.done()  # still waiting on its own 30 s timeout
        hung_poll.cancel()
    finally:
        await a.stop()
        await b.stop()
        await hung.stop()
        await healthy.stop()


# --- the emulator checked by clients that are not our code ------------------------------


async def test_urllib_reads_health_and_is_refused_without_token(kiosk: KioskEmulator) -> None:
    def fetch(token: str | None) -> tuple[int, bytes]:
        req = urllib.request.Request(kiosk.base_url + "/health")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    status, body = await asyncio.to_thread(fetch, TOKEN)
    assert status == 200
    assert json.loads(body)["model"] == "EA-Kiosk 15"
    status, _ = await asyncio.to_thread(fetch, None)
    assert status == 401


async def test_raw_http_request_gets_a_well_formed_500_on_error_fault(kiosk: KioskEmulator) -> None:
    kiosk.faults.error_code = "disk_full"
    reader, writer = await asyncio.open_connection("127.0.0.1", kiosk.port)
    request = (
        "GET /health HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500")
    assert json.loads(body) == {"error": "disk_full"}


async def test_websockets_library_receives_pushed_heartbeats(kiosk: KioskEmulator) -> None:
    import websockets

    url = f"ws://127.0.0.1:{kiosk.port}/ws"
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {TOKEN}"}
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        second = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["type"] == second["type"] == "heartbeat"
    assert first["power"] == "on"


async def test_raw_udp_magic_packet_wakes_the_emulated_kiosk(kiosk: KioskEmulator) -> None:
    await kiosk.power_off()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(
            b"\xff" * 6 + bytes.fromhex("02000000002a") * 16, ("127.0.0.1", kiosk.wol_port or 0)
        )
        tx.sendto(b"not a magic packet", ("127.0.0.1", kiosk.wol_port or 0))
    await until(lambda: kiosk.state["power"] == "on")
    await until(lambda: kiosk.bad_wol_packets == 1)


async def test_from_config_listens_where_the_device_points(token_file: Path) -> None:
    port = free_port()
    cfg = KioskConfig.model_validate(
        {
            "id": "k",
            "driver": "kiosk",
            "base_url": f"http://127.0.0.1:{port}",
            "token_file": str(token_file),
        }
    )
    emu = from_config(cfg)
    await emu.start()
    driver = KioskDriver(cfg, RecordingContext())
    try:
        assert str(port) in emu.describe()
        await driver.start()
        assert (await driver.poll())["power"] == "on"
    finally:
        await driver.stop()
        await emu.stop()
