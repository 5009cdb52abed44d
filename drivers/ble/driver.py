"""`ble_beacons`: who is in the branch, from the staff badges and asset tags BlueZ hears.

The scan runs continuously; every advertisement is decoded and fed to the presence tracker as
it arrives, so enter events are not delayed until the next poll. poll() checks that BlueZ and the
adapter are still alive, times out silent beacons and returns who is present.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from ..sdk import Capability, Command, DeviceConfig, DriverContext, ProtocolError, Unsupported
from .client import Advertisement, BeaconScanner
from .codec import EddystoneTLM, EddystoneUID, EddystoneURL, Frame, IBeacon, parse_advertisement
from .config import BeaconConfig
from .events import PresenceEvent
from .tracker import PresenceChange, PresenceTracker


def _key(frame: Frame) -> tuple[str, ...] | None:
    """The identity a configured beacon is matched on."""
    if isinstance(frame, IBeacon):
        return ("ibeacon", frame.uuid, str(frame.major), str(frame.minor))
    if isinstance(frame, EddystoneUID):
        return ("eddystone_uid", frame.namespace, frame.instance)
    return None


def _describe(frame: Frame) -> str:
    if isinstance(frame, IBeacon):
        return f"ibeacon {frame.uuid} {frame.major}/{frame.minor}"
    if isinstance(frame, EddystoneUID):
        return f"eddystone-uid {frame.namespace}/{frame.instance}"
    if isinstance(frame, EddystoneURL):
        return f"eddystone-url {frame.url}"
    return "eddystone-tlm"


class BeaconDriver:
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.PRESENCE})
    config_model: ClassVar[type[DeviceConfig]] = BeaconConfig
    extra_actions: ClassVar[Mapping[str, type[BaseModel]]] = {}
    emulator: ClassVar[str | None] = "drivers.ble.emulator:from_config"
    #: Signal strength, battery millivolts and the bad-frame count move with every advert; who is
    #: present is the state.
    volatile_state: ClassVar[frozenset[str]] = frozenset({"rssi", "battery_mv", "invalid_frames"})

    def __init__(self, config: BeaconConfig, ctx: DriverContext) -> None:
        self._config = config
        self._ctx = ctx
        self._lock = asyncio.Lock()
        self._by_key: dict[tuple[str, ...], str] = {}
        for entry in config.beacons:
            if entry.ibeacon is not None:
                m = entry.ibeacon
                self._by_key[("ibeacon", m.uuid, str(m.major), str(m.minor))] = entry.id
            elif entry.eddystone_uid is not None:
                e = entry.eddystone_uid
                self._by_key[("eddystone_uid", e.namespace, e.instance)] = entry.id
        # Who is present survives a restart of the scan: no second `enter` for the same badge.
        self._tracker: PresenceTracker = ctx.memory.setdefault("presence", self._new_tracker())
        self._address_of: dict[str, str] = {}  # BLE address -> beacon id, for TLM frames
        self._battery: dict[str, int] = {}
        self._heard: dict[str, str] = {}  # address -> last frame description (for probe)
        self._bad_frames = 0
        self._scanner: BeaconScanner | None = None

    def _new_tracker(self) -> PresenceTracker:
        c = self._config
        return PresenceTracker(
            [b.id for b in c.beacons],
            enter_rssi=c.enter_rssi,
            leave_rssi=c.leave_rssi,
            leave_after_s=c.leave_after_s,
            smoothing=c.smoothing,
            ema_alpha=c.ema_alpha,
            median_window=c.median_window,
        )

    def _emit(self, change: PresenceChange) -> None:
        PresenceEvent(beacon=change.beacon, state=change.state, rssi=change.rssi).emit(self._ctx)
        self._ctx.log.info(
            "beacon_presence", beacon=change.beacon, state=change.state, rssi=change.rssi
        )

    def on_advertisement(self, adv: Advertisement) -> None:
        """Decode one advertisement and update presence. Bad frames are counted, not fatal."""
        try:
            frames = parse_advertisement(adv.manufacturer_data, adv.service_data)
        except ProtocolError as exc:
            self._bad_frames += 1
            if self._bad_frames == 1 or self._bad_frames % 100 == 0:
                self._ctx.log.warning(
                    "beacon_frame_invalid",
                    address=adv.address,
                    error=exc.message,
                    count=self._bad_frames,
                )
            return
        for frame in frames:
            self._heard[adv.address] = _describe(frame)
            if isinstance(frame, EddystoneTLM):
                beacon = self._address_of.get(adv.address)
                if beacon is not None and frame.battery_mv:
                    self._battery[beacon] = frame.battery_mv
                    self._ctx.emit_reading(f"{beacon}.battery", frame.battery_mv, "mV")
                continue
            key = _key(frame)
            beacon = self._by_key.get(key) if key else None
            if beacon is None:
                continue
            self._address_of[adv.address] = beacon
            change = self._tracker.sighting(beacon, adv.rssi, self._ctx.now())
            if change is not None:
                self._emit(change)

    async def start(self) -> None:
        await self.stop()
        scanner = BeaconScanner(self._config.adapter, self._config.timeout_s, self.on_advertisement)
        await scanner.start()
        self._scanner = scanner
        self._ctx.log.info(
            "beacon_scan_started", adapter=self._config.adapter, beacons=len(self._config.beacons)
        )

    async def poll(self) -> Mapping[str, Any]:
        async with self._lock:
            if self._scanner is None:
                await self.start()
            assert self._scanner is not None
            await self._scanner.check()
            for change in self._tracker.expire(self._ctx.now()):
                self._emit(change)
            return self._state()

    def _state(self) -> dict[str, Any]:
        present = self._tracker.present()
        return {
            "present": sorted(present),
            "rssi": present,
            "battery_mv": dict(self._battery),
            "invalid_frames": self._bad_frames,
        }

    async def execute(self, command: Command) -> Mapping[str, Any]:
        if command.action == "refresh":
            return await self.poll()
        raise Unsupported(f"ble_beacons has no action {command.action!r}; it only reports presence")

    async def probe(self) -> Mapping[str, Any]:
        return {
            "model": f"BlueZ adapter {self._config.adapter}",
            "class": "ble_beacons",
            "scanning": self._scanner is not None,
            "beacons": [b.id for b in self._config.beacons],
            "heard": dict(sorted(self._heard.items())),
        }

    async def stop(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            await scanner.stop()
        # The tracker survives a restart on purpose: a brief BlueZ hiccup must not make every
        # badge leave and re-enter. Beacons still leave by silence once polls resume.
