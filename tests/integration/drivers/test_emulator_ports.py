"""Every emulator, built from a config the way `edge-agent simulate` builds it, reports a taken port
or serial path as a typed error naming it, and leaves nothing half-started behind."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers import registry
from drivers.sdk import DriverError, PortInUse, Reason


def emulator_for(config: dict[str, Any]) -> Any:
    """What simulate does: the driver's `emulator` target applied to the validated config."""
    driver = registry.load(config["driver"])
    assert driver.emulator is not None
    return registry.import_string(driver.emulator)(driver.config_model.model_validate(config))


def can_bind(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def taken_udp() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.1", 0))
        yield int(other.getsockname()[1])


def tcp_configs(port: int) -> dict[str, dict[str, Any]]:
    base = {"host": "127.0.0.1", "port": port}
    return {
        "pjlink": {"id": "proj", "driver": "pjlink", **base},
        "samsung_mdc": {"id": "wall", "driver": "samsung_mdc", **base},
        "modbus": {
            "id": "meter",
            "driver": "modbus",
            **base,
            "units": [{"name": "main", "unit_id": 1, "profile": "sdm120"}],
        },
        "kiosk": {"id": "kiosk", "driver": "kiosk", "base_url": f"http://127.0.0.1:{port}"},
    }


@pytest.mark.parametrize("driver", ["pjlink", "samsung_mdc", "modbus", "kiosk"])
async def test_taken_tcp_port_is_a_config_error_naming_the_port(
    driver: str, taken_tcp: int
) -> None:
    emulator = emulator_for(tcp_configs(taken_tcp)[driver])
    assert str(taken_tcp) in emulator.describe()
    with pytest.raises(PortInUse, match=re.escape(f"tcp 127.0.0.1:{taken_tcp}")) as err:
        await emulator.start()
    assert "already in use" in err.value.message
    assert err.value.reason is Reason.CONFIG_ERROR
    await emulator.stop()  # what simulate does at the end: harmless after a failed start


@pytest.mark.parametrize("driver", ["pjlink", "samsung_mdc", "modbus", "kiosk"])
async def test_emulator_on_a_free_port_serves_and_frees_it_on_stop(
    driver: str, loopback_port: int
) -> None:
    emulator = emulator_for(tcp_configs(loopback_port)[driver])
    await emulator.start()
    try:
        assert f"127.0.0.1:{loopback_port}" in emulator.describe()
        with socket.create_connection(("127.0.0.1", loopback_port), timeout=5):
            pass
    finally:
        await emulator.stop()
    assert can_bind(socket.SOCK_STREAM, loopback_port)


async def test_projector_whose_udp_port_is_taken_releases_its_tcp_port(taken_udp: int) -> None:
    emulator = emulator_for(
        tcp_configs(taken_udp)["pjlink"]
    )  # TCP free, UDP of the same number taken
    with pytest.raises(PortInUse, match=re.escape(f"udp 127.0.0.1:{taken_udp}")):
        await emulator.start()
    assert can_bind(socket.SOCK_STREAM, taken_udp)


async def test_kiosk_whose_wake_on_lan_port_is_taken_stops_serving_http(
    taken_udp: int, loopback_port: int
) -> None:
    config = tcp_configs(loopback_port)["kiosk"] | {"wol_port": taken_udp}
    emulator = emulator_for(config)
    with pytest.raises(PortInUse, match=re.escape(f"udp 127.0.0.1:{taken_udp}")):
        await emulator.start()
    assert can_bind(socket.SOCK_STREAM, loopback_port)


def serial_config(driver: str, path: Path) -> dict[str, Any]:
    if driver == "samsung_mdc":
        return {"id": "wall", "driver": "samsung_mdc", "serial": {"port": str(path)}}
    return {
        "id": "bus",
        "driver": "modbus",
        "transport": "rtu",
        "serial_port": str(path),
        "units": [{"name": "main", "unit_id": 1, "profile": "sdm120"}],
    }


@pytest.mark.parametrize("driver", ["samsung_mdc", "modbus"])
async def test_taken_serial_path_is_a_config_error_and_the_file_survives(
    driver: str, tmp_path: Path
) -> None:
    taken = tmp_path / "ttyUSB0"
    taken.write_text("someone else's", encoding="utf-8")
    emulator = emulator_for(serial_config(driver, taken))
    assert str(taken) in emulator.describe()
    with pytest.raises(PortInUse, match=re.escape(str(taken))):
        await emulator.start()
    await emulator.stop()
    assert taken.read_text(encoding="utf-8") == "someone else's"


@pytest.mark.parametrize("driver", ["samsung_mdc", "modbus"])
async def test_serial_emulator_links_the_configured_path_and_removes_it_on_stop(
    driver: str, tmp_path: Path
) -> None:
    path = tmp_path / "ttyUSB1"
    emulator = emulator_for(serial_config(driver, path))
    await emulator.start()
    try:
        assert path.is_symlink() and path.exists()
    finally:
        await emulator.stop()
    assert not path.is_symlink()


async def test_beacon_emulator_without_dbus_reports_a_driver_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "id": "lobby-beacons",
        "driver": "ble_beacons",
        "beacons": [
            {
                "id": "vip-card",
                "ibeacon": {"uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 2},
            }
        ],
    }
    emulator = emulator_for(config)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DriverError, match="dbus-daemon is not installed"):
        await emulator.start()
    await emulator.stop()


async def test_projector_with_unreadable_password_file_is_a_config_error(tmp_path: Path) -> None:
    config = {
        "id": "proj",
        "driver": "pjlink",
        "host": "127.0.0.1",
        "password_file": str(tmp_path / "missing.txt"),
    }
    with pytest.raises(DriverError, match=re.escape("missing.txt")) as err:
        emulator_for(config)
    assert err.value.reason is Reason.CONFIG_ERROR


@pytest.mark.parametrize(
    ("driver", "secret_key"),
    [("pjlink", "password_file"), ("samsung_mdc", "pin_file"), ("kiosk", "token_file")],
)
def test_emulator_with_a_binary_secret_file_is_a_typed_error_or_runs_without_it(
    driver: str, secret_key: str, tmp_path: Path
) -> None:
    secret = tmp_path / "binary.secret"
    secret.write_bytes(b"1234\xff\xfe\n")
    config = tcp_configs(4352)[driver] | {secret_key: str(secret)}  # never started
    if driver == "samsung_mdc":
        config |= {"secured": True}
    try:
        emulator = emulator_for(config)  # what simulate does; before, a UnicodeDecodeError
    except DriverError as err:
        assert "binary.secret" in err.message and "not UTF-8" in err.message
        assert "1234" not in err.message
        return
    assert driver == "kiosk"  # an unreadable token: the emulated kiosk asks for none
    assert emulator.describe()
