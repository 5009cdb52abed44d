"""A BlueZ scan session through bleak, with every failure mapped to a typed driver error.

bleak and dbus-fast are imported here, inside methods, so a config without BLE beacons never
loads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..sdk import DeviceReportedError, DeviceTimeout, DriverError, Unreachable


@dataclass(frozen=True)
class Advertisement:
    address: str
    rssi: int
    manufacturer_data: Mapping[int, bytes]
    service_data: Mapping[str, bytes]


OnAdvertisement = Callable[[Advertisement], None]

_GONE = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
)


def _map_error(exc: BaseException, adapter: str) -> DriverError:
    """bleak / D-Bus / OS failures -> the reason a field engineer can act on."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return Unreachable(f"no usable Bluetooth adapter: {exc}")
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error in _GONE:
            return Unreachable("bluetoothd is not running (org.bluez is not on the system bus)")
        return DeviceReportedError(
            f"BlueZ refused on {adapter}: {exc.dbus_error} {exc.dbus_error_details or ''}".strip()
        )
    if isinstance(exc, BleakError):
        if "not found" in str(exc):
            return Unreachable(f"Bluetooth adapter {adapter} not found; check `bluetoothctl list`")
        return DeviceReportedError(f"bleak: {exc}")
    if isinstance(exc, (OSError, EOFError)):
        return Unreachable(f"cannot reach the D-Bus system bus for BlueZ: {exc}")
    if isinstance(exc, TimeoutError):
        return DeviceTimeout("BlueZ did not answer in time")
    return DeviceReportedError(f"unexpected Bluetooth failure: {type(exc).__name__}: {exc}")


class BeaconScanner:
    """One continuous LE scan on one adapter, plus a cheap liveness check for poll()."""

    def __init__(self, adapter: str, timeout_s: float, on_advertisement: OnAdvertisement) -> None:
        self._adapter = adapter
        self._timeout_s = timeout_s
        self._on_adv = on_advertisement
        self._scanner: Any = None
        self._bus: Any = None

    async def start(self) -> None:
        """Start scanning; raise Unreachable when there is no adapter or no bluetoothd."""
        from bleak import BleakScanner

        def _callback(device: Any, adv: Any) -> None:
            self._on_adv(
                Advertisement(
                    address=str(device.address),
                    rssi=int(adv.rssi),
                    manufacturer_data=dict(adv.manufacturer_data),
                    service_data=dict(adv.service_data),
                )
            )

        scanner = BleakScanner(_callback, bluez={"adapter": self._adapter})
        try:
            async with asyncio.timeout(self._timeout_s):
                await scanner.start()
                self._bus = await self._connect_bus()
        except Exception as exc:  # noqa: BLE001 - bleak/dbus raise many types; mapped to a reason below
            await self._safe_stop(scanner)
            raise _map_error(exc, self._adapter) from None
        self._scanner = scanner

    async def _connect_bus(self) -> Any:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        return await MessageBus(bus_type=BusType.SYSTEM).connect()

    async def check(self) -> None:
        """Ask BlueZ whether the adapter is still there and still discovering."""
        from dbus_fast import Message, MessageType

        if self._bus is None or not self._bus.connected:
            raise Unreachable("lost the D-Bus system bus connection to BlueZ")
        msg = Message(
            destination="org.bluez",
            path=f"/org/bluez/{self._adapter}",
            interface="org.freedesktop.DBus.Properties",
            member="Get",
            signature="ss",
            body=["org.bluez.Adapter1", "Discovering"],
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                reply = await self._bus.call(msg)
        except TimeoutError:
            raise DeviceTimeout("BlueZ did not answer the adapter check in time") from None
        except (OSError, EOFError) as exc:
            raise Unreachable(f"lost the D-Bus connection to BlueZ: {exc}") from None
        if reply.message_type == MessageType.ERROR:
            if reply.error_name in _GONE:
                raise Unreachable("bluetoothd stopped (org.bluez left the system bus)")
            raise Unreachable(f"Bluetooth adapter {self._adapter} disappeared ({reply.error_name})")
        if not reply.body[0].value:
            raise DeviceReportedError(
                f"adapter {self._adapter} stopped scanning (reset or powered off)"
            )

    @staticmethod
    async def _safe_stop(scanner: Any) -> None:
        try:
            await scanner.stop()
        except Exception:  # noqa: BLE001 - mapped to a typed DriverError
            return

    async def stop(self) -> None:
        """Stop scanning and drop the bus. Never raises."""
        scanner, self._scanner = self._scanner, None
        bus, self._bus = self._bus, None
        if scanner is not None:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._safe_stop(scanner)
            except TimeoutError:
                pass
        if bus is not None:
            bus.disconnect()
