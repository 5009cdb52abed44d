"""A BlueZ stand-in: a private D-Bus bus running python-dbusmock's `bluez5` template.

Real bleak code talks to it exactly as to bluetoothd: the emulator adds an adapter and one
Device1 object per beacon, then re-advertises each beacon every `interval_s` by updating the
device's RSSI, ManufacturerData and ServiceData (a PropertiesChanged signal, as BlueZ sends for
each advertisement it hears).

The bus is private, so a process only sees it when its DBUS_SYSTEM_BUS_ADDRESS is `bus_address`
(bleak reads no other setting). Needs `dbus-daemon` on PATH and python-dbusmock installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from ..sdk import Unreachable
from ..sdk.faults import FaultAction, Faults
from .codec import (
    APPLE_COMPANY_ID,
    EDDYSTONE_UUID,
    EddystoneTLM,
    EddystoneUID,
    IBeacon,
    build_eddystone,
    build_ibeacon,
)
from .config import BeaconConfig

_MOCK_IFACE = "org.freedesktop.DBus.Mock"
_DEVICE_IFACE = "org.bluez.Device1"


class EmulatorError(Unreachable):
    """The emulator could not start (no dbus-daemon, dbusmock missing...) or BlueZ refused a call.

    A DriverError, so `edge-agent simulate` reports it and carries on with the other devices.
    """


@dataclass
class EmulatedBeacon:
    """One advertiser. Change `rssi` or `advertising` at any time; the next round uses it."""

    address: str
    frame: IBeacon | EddystoneUID
    rssi: int = -60
    advertising: bool = True
    tlm: EddystoneTLM | None = None


class BluezMockEmulator:
    def __init__(
        self, beacons: list[EmulatedBeacon], *, adapter: str = "hci0", interval_s: float = 0.2
    ) -> None:
        self.beacons = {b.address: b for b in beacons}
        self.adapter = adapter
        self.interval_s = interval_s
        self.faults = Faults()
        self.bus_address = ""
        self._tmp: str | None = None
        self._daemon: asyncio.subprocess.Process | None = None
        self._mock: asyncio.subprocess.Process | None = None
        self._bus: Any = None
        self._task: asyncio.Task[None] | None = None
        self._paths: dict[str, str] = {}
        self._error_installed: str | None = None
        self._round = 0
        self._bluez_lock = asyncio.Lock()  # a restart and an advert round never interleave

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start a private bus and the BlueZ mock; EmulatorError (cleaned up) when either fails."""
        try:
            await self._start()
        except TimeoutError:
            await self.stop()
            raise EmulatorError(
                "the private D-Bus or the BlueZ mock did not come up in 10 s"
            ) from None
        except (OSError, EOFError) as exc:
            await self.stop()
            raise EmulatorError(f"cannot talk to the private D-Bus: {exc}") from None
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            raise EmulatorError("dbus-daemon is not installed (apt-get install dbus)")
        self._tmp = tempfile.mkdtemp(prefix="ble-emu-")
        self._daemon = await asyncio.create_subprocess_exec(
            daemon, "--session", "--nofork", "--print-address=1",
            f"--address=unix:path={self._tmp}/system_bus_socket",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert self._daemon.stdout is not None
        async with asyncio.timeout(10):
            line = await self._daemon.stdout.readline()
        if not line:
            raise EmulatorError("dbus-daemon exited before printing its address")
        self.bus_address = line.decode().strip()
        await self._start_bluez()
        self._task = asyncio.create_task(
            self._advertise(), name=f"ble-emulator[{self.adapter}].advertise"
        )

    async def _start_bluez(self) -> None:
        from dbus_fast.aio import MessageBus

        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        self._mock = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dbusmock", "--system", "--template", "bluez5",
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        self._bus = await MessageBus(bus_address=self.bus_address).connect()
        async with asyncio.timeout(10):
            while not await self._call(
                "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                sig="s", body=["org.bluez"], dest="org.freedesktop.DBus",
            ):  # fmt: skip
                if self._mock.returncode is not None:
                    raise EmulatorError("python -m dbusmock exited; is python-dbusmock installed?")
                await asyncio.sleep(0.05)
        adapter_args = [self.adapter, "edge-agent-emulator"]
        await self._call("/", "org.bluez.Mock", "AddAdapter", sig="ss", body=adapter_args)
        for address in self.beacons:
            device_args = [self.adapter, address, ""]
            path = await self._call("/", "org.bluez.Mock", "AddDevice", sig="sss", body=device_args)
            self._paths[address] = str(path)
        self._error_installed = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # never raises: the processes below must always go
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None
        for proc in (self._mock, self._daemon):
            if proc is not None and proc.returncode is None:
                proc.terminate()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(3):
                        await proc.wait()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        self._mock = self._daemon = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def describe(self) -> str:
        return (
            f"BlueZ mock ({len(self.beacons)} beacons on {self.adapter}) on private bus "
            f"{self.bus_address}"
        )

    # --- knobs ---------------------------------------------------------------------------

    def beacon(self, address: str) -> EmulatedBeacon:
        return self.beacons[address]

    async def crash_bluetoothd(self) -> None:
        """Kill the BlueZ mock, as when bluetoothd dies; `restart_bluetoothd` brings it back."""
        if self._mock is not None and self._mock.returncode is None:
            self._mock.kill()
            await self._mock.wait()

    async def restart_bluetoothd(self) -> None:
        async with self._bluez_lock:
            await self.crash_bluetoothd()
            if self._bus is not None:
                self._bus.disconnect()
            self._paths.clear()
            await self._start_bluez()

    async def sync_faults(self) -> None:
        """Apply `faults.error_code` now: StartDiscovery then fails with org.bluez.Error.<code>."""
        code = self.faults.error_code
        if code == self._error_installed or code is None:
            return
        name = re.sub(r"[^A-Za-z0-9]", "", code) or "Failed"
        error = f"name='org.bluez.Error.{name}'"
        code_text = f"raise dbus.exceptions.DBusException('emulated failure', {error})"
        body = ["org.bluez.Adapter1", "StartDiscovery", "", "", code_text]
        await self._call(
            f"/org/bluez/{self.adapter}", _MOCK_IFACE, "AddMethod", sig="sssss", body=body
        )
        self._error_installed = code

    # --- advertising ---------------------------------------------------------------------

    @property
    def rounds(self) -> int:
        """Advertising rounds begun so far, sent or (faults) not."""
        return self._round

    async def _advertise(self) -> None:
        while True:
            action = await self.faults.next_action()
            if action is FaultAction.CLOSE:
                await self.crash_bluetoothd()
            elif action is FaultAction.ERROR:
                await self.sync_faults()
            elif action in (FaultAction.REPLY, FaultAction.GARBAGE):
                async with self._bluez_lock:
                    await self._round_of_adverts(garbage=action is FaultAction.GARBAGE)
            self._round += 1
            await asyncio.sleep(self.interval_s)

    async def _round_of_adverts(self, *, garbage: bool) -> None:
        if self._mock is None or self._mock.returncode is not None:
            return  # bluetoothd is down: nothing is heard
        for beacon in list(self.beacons.values()):
            if beacon.advertising and beacon.address in self._paths:
                try:
                    await self._send(beacon, garbage=garbage)
                except (EmulatorError, OSError, EOFError):
                    return  # the mock died mid-round; the next round checks again

    async def _send(self, beacon: EmulatedBeacon, *, garbage: bool) -> None:
        from dbus_fast import Variant

        manufacturer: dict[int, Variant] = {}
        service: dict[str, Variant] = {}
        if garbage:
            manufacturer[APPLE_COMPANY_ID] = Variant("ay", b"\x02\x15" + os.urandom(7))
        elif isinstance(beacon.frame, IBeacon):
            manufacturer[APPLE_COMPANY_ID] = Variant("ay", build_ibeacon(beacon.frame))
        else:
            frame = beacon.frame
            if beacon.tlm is not None and self._round % 2:  # real beacons interleave UID and TLM
                service[EDDYSTONE_UUID] = Variant("ay", build_eddystone(beacon.tlm))
            else:
                service[EDDYSTONE_UUID] = Variant("ay", build_eddystone(frame))
        # Both dicts always go out: the template's initial ServiceData is an empty *array*,
        # which bleak cannot read as a dict, so it must be replaced on the first update.
        props = {
            "RSSI": Variant("n", beacon.rssi),
            "ManufacturerData": Variant("a{qv}", manufacturer),
            "ServiceData": Variant("a{sv}", service),
        }
        path = self._paths[beacon.address]
        await self._call(
            path, _MOCK_IFACE, "UpdateProperties", sig="sa{sv}", body=[_DEVICE_IFACE, props]
        )

    async def _call(
        self,
        path: str,
        iface: str,
        member: str,
        *,
        sig: str,
        body: list[Any],
        dest: str = "org.bluez",
    ) -> Any:
        from dbus_fast import Message, MessageType

        reply = await self._bus.call(
            Message(
                destination=dest,
                path=path,
                interface=iface,
                member=member,
                signature=sig,
                body=body,
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise EmulatorError(f"{member} failed: {reply.error_name} {reply.body}")
        return reply.body[0] if reply.body else None


def from_config(config: BeaconConfig) -> BluezMockEmulator:
    """One emulated beacon per configured beacon, each comfortably above `enter_rssi`."""
    beacons = []
    for n, entry in enumerate(config.beacons, start=1):
        address = f"C0:FF:EE:00:{n // 256:02X}:{n % 256:02X}"
        frame: IBeacon | EddystoneUID
        if entry.ibeacon is not None:
            m = entry.ibeacon
            frame = IBeacon(uuid=m.uuid, major=m.major, minor=m.minor, tx_power=-59)
        else:
            assert entry.eddystone_uid is not None
            e = entry.eddystone_uid
            frame = EddystoneUID(namespace=e.namespace, instance=e.instance, tx_power=-20)
        beacons.append(
            EmulatedBeacon(address=address, frame=frame, rssi=min(config.enter_rssi + 10, -30))
        )
    return BluezMockEmulator(beacons, adapter=config.adapter)
