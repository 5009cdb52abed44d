"""bleak itself against python-dbusmock's bluez5 template on a private D-Bus system bus."""

from __future__ import annotations

import asyncio

import pytest

from drivers.ble.codec import EddystoneTLM, EddystoneUID, IBeacon, parse_advertisement
from drivers.ble.driver import BeaconDriver
from drivers.ble.emulator import BluezMockEmulator, from_config
from drivers.sdk import DeviceReportedError, Reason, Unreachable
from drivers.sdk.testing import RecordingContext
from tests.integration.drivers.ble_support import BADGE, TAG, UUID, config, until


async def test_bleak_scanner_hears_the_emulated_beacons(bluez: BluezMockEmulator) -> None:
    """The emulator checked by bleak's own scanner, not by our driver."""
    from bleak import BleakScanner

    heard: dict[str, list[object]] = {}

    def on_adv(device: object, adv: object) -> None:
        frames = parse_advertisement(adv.manufacturer_data, adv.service_data)  # type: ignore[attr-defined]
        heard.setdefault(device.address, []).extend(frames)  # type: ignore[attr-defined]

    async with BleakScanner(on_adv, bluez={"adapter": "hci0"}):
        await until(
            lambda: (
                BADGE in heard
                and any(isinstance(f, EddystoneTLM) for f in heard.get(TAG, []))
                and any(isinstance(f, EddystoneUID) for f in heard.get(TAG, []))
            )
        )
    assert IBeacon(UUID, 7, 1, -59) in heard[BADGE]
    assert EddystoneUID("edd1ebeac04e5defa017", "0badc0ffee01", -20) in heard[TAG]


async def test_badges_in_range_enter_and_show_as_present(bluez: BluezMockEmulator) -> None:
    ctx = RecordingContext()
    driver = BeaconDriver(config(), ctx)
    await driver.start()
    try:
        await until(lambda: len(ctx.events) >= 2)
        state = await driver.poll()
        assert state["present"] == ["asset-tag-1", "staff-badge-7"]
        entered = {e[1]["beacon"]: e[1] for e in ctx.events}
        assert entered["staff-badge-7"] == {
            "beacon": "staff-badge-7",
            "state": "enter",
            "rssi": -55.0,
        }
        await until(lambda: any(r[0] == "asset-tag-1.battery" for r in ctx.readings))
        assert ("asset-tag-1.battery", 2950, "mV") in ctx.readings
    finally:
        await driver.stop()


async def test_beacon_that_stops_advertising_leaves_after_timeout(bluez: BluezMockEmulator) -> None:
    now = [1000.0]
    ctx = RecordingContext(clock=lambda: now[0])
    driver = BeaconDriver(config(), ctx)
    await driver.start()
    try:
        await until(lambda: len(ctx.events) >= 2)
        bluez.faults.silent = True
        # Let a round already under way finish and its adverts land before time moves on.
        first = bluez.rounds
        await until(lambda: bluez.rounds >= first + 2)
        await asyncio.sleep(0.2)
        now[0] += 6  # past leave_after_s=5 with no sightings
        state = await driver.poll()
        assert state["present"] == []
        assert sorted(e[1]["beacon"] for e in ctx.events if e[1]["state"] == "leave") == [
            "asset-tag-1",
            "staff-badge-7",
        ]
    finally:
        await driver.stop()


async def test_badge_walking_away_leaves_on_weak_rssi(bluez: BluezMockEmulator) -> None:
    ctx = RecordingContext()
    driver = BeaconDriver(config(), ctx)
    await driver.start()
    try:
        await until(lambda: any(e[1]["beacon"] == "staff-badge-7" for e in ctx.events))
        bluez.beacon(BADGE).rssi = -100
        await until(
            lambda: any(
                e[1] == {"beacon": "staff-badge-7", "state": "leave", "rssi": e[1]["rssi"]}
                for e in ctx.events
            )
        )
        assert "staff-badge-7" not in (await driver.poll())["present"]
    finally:
        await driver.stop()


async def test_garbage_adverts_are_counted_and_do_not_stop_the_scan(
    bluez: BluezMockEmulator,
) -> None:
    ctx = RecordingContext()
    driver = BeaconDriver(config(), ctx)
    await driver.start()
    try:
        bluez.faults.garbage = True
        await until(lambda: any(r[1] == "beacon_frame_invalid" for r in ctx.log.records))
        state = await driver.poll()
        assert state["invalid_frames"] >= 1
        bluez.faults.clear()
        await until(lambda: len([e for e in ctx.events if e[1]["state"] == "enter"]) >= 2)
    finally:
        await driver.stop()


async def test_bluetoothd_crash_reports_unreachable_then_recovers(bluez: BluezMockEmulator) -> None:
    ctx = RecordingContext()
    driver = BeaconDriver(config(), ctx)
    await driver.start()
    try:
        await driver.poll()
        bluez.faults.disconnect = True
        await until(lambda: bluez._mock is not None and bluez._mock.returncode is not None)
        with pytest.raises(Unreachable, match="bluetoothd stopped") as err:
            await driver.poll()
        assert err.value.reason is Reason.UNREACHABLE
        bluez.faults.clear()
        await bluez.restart_bluetoothd()
        await driver.stop()  # what the supervisor does before a restart
        await driver.start()
        state = await driver.poll()
        assert "present" in state
    finally:
        await driver.stop()


async def test_adapter_refusing_to_scan_is_a_device_error(bluez: BluezMockEmulator) -> None:
    bluez.faults.error_code = "NotReady"
    await bluez.sync_faults()
    driver = BeaconDriver(config(), RecordingContext())
    with pytest.raises(DeviceReportedError, match=r"org\.bluez\.Error\.NotReady"):
        await driver.start()


async def test_missing_adapter_reports_unreachable_naming_it(bluez: BluezMockEmulator) -> None:
    driver = BeaconDriver(config(adapter="hci3"), RecordingContext())
    with pytest.raises(Unreachable, match="hci3"):
        await driver.start()


async def test_no_system_bus_at_all_reports_unreachable(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket")
    driver = BeaconDriver(config(), RecordingContext())
    with pytest.raises(Unreachable, match="D-Bus"):
        await driver.start()


async def test_from_config_emulator_makes_every_configured_beacon_present(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = config()
    emu = from_config(cfg)
    await emu.start()
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", emu.bus_address)
    ctx = RecordingContext()
    driver = BeaconDriver(cfg, ctx)
    try:
        assert emu.bus_address in emu.describe()
        await driver.start()
        await until(lambda: len(ctx.events) >= 2)
        assert (await driver.poll())["present"] == ["asset-tag-1", "staff-badge-7"]
    finally:
        await driver.stop()
        await emu.stop()
