"""A real Modbus peer: a pymodbus TCP or RTU server whose units are filled from profiles.

pymodbus does the framing; `emu_store.BusStore` decides the answers, and `emu_requests` answers a
malformed request (bad quantity, byte count, coil value or PDU length) with exception 03, as the
spec says.
Fault knobs: `faults` (whole bus/endpoint) and `unit(name).faults` (one unit): delay, silent,
garbage, disconnect and `error_code` (a Modbus exception code such as "2" or "device_failure").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from drivers.sdk import InvalidArgument, Unreachable
from drivers.sdk.faults import Faults, garbage_bytes
from drivers.sdk.listen import bind_error
from drivers.sdk.pty import PtyPair

from .config import ModbusConfig
from .emu_store import BusStore, UnitStore
from .profile import load_profile


class ModbusEmulator:
    """Serves `units` over TCP (`host`, `port`) or RTU (`serial_port`).

    With `link_path` set (RTU only), `start()` first creates a socat pty pair whose other end is
    linked at `link_path`, so a driver configured with that serial port talks to this emulator.
    """

    def __init__(
        self,
        units: Sequence[UnitStore],
        *,
        transport: Literal["tcp", "rtu"] = "tcp",
        host: str = "127.0.0.1",
        port: int = 5020,
        serial_port: str | None = None,
        link_path: str | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
    ) -> None:
        if transport == "rtu" and not (serial_port or link_path):
            raise InvalidArgument("an RTU emulator needs serial_port or link_path")
        self.faults = Faults()
        self.transport = transport
        self.host, self.port = host, port
        self.serial_port, self.link_path = serial_port, link_path
        self.baudrate, self.parity, self.stopbits = baudrate, parity, stopbits
        self.store = BusStore(units, self.faults, self._disconnect_all)
        self._server: Any = None
        self._pty: PtyPair | None = None

    @classmethod
    def from_profiles(cls, units: Mapping[int, str], **kwargs: Any) -> ModbusEmulator:
        """Units by id from profile names or paths; each unit is named after its profile."""
        stores = [UnitStore(uid, ref, load_profile(ref).points) for uid, ref in units.items()]
        return cls(stores, **kwargs)

    def unit(self, key: int | str) -> UnitStore:
        """A unit by id or by name, to set values or faults on it."""
        for unit in self.store.units.values():
            if key in (unit.unit_id, unit.name):
                return unit
        raise KeyError(key)

    def describe(self) -> str:
        where = (
            f"tcp {self.host}:{self.port}"
            if self.transport == "tcp"
            else f"rtu {self.link_path or self.serial_port}"
        )
        units = ", ".join(f"{u.unit_id}={u.name}" for u in self.store.units.values())
        return f"modbus emulator on {where} serving units {units}"

    async def start(self) -> None:
        """Serve the units. PortInUse names a taken TCP port or link path; Unreachable else."""
        try:
            await self._start()
        except BaseException:  # pymodbus or socat half-started: leave nothing behind
            await self.stop()
            raise

    async def _start(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer
        from pymodbus.simulator import SimData, SimDevice

        from .emu_requests import REQUESTS

        placeholder = SimDevice(0, simdata=[SimData(0, values=0)])  # replaced by our store below
        if self.transport == "tcp":
            self._server = ModbusTcpServer(
                placeholder,
                address=(self.host, self.port),
                ignore_missing_devices=True,
                trace_packet=self._trace_packet,
                custom_pdu=REQUESTS,
            )
        else:
            device_side = str(self.serial_port)
            if self.link_path:
                self._pty = PtyPair(self.link_path)
                await self._pty.start()
                device_side = str(self._pty.device_path)
            self._server = ModbusSerialServer(
                placeholder,
                framer=FramerType.RTU,
                port=device_side,
                ignore_missing_devices=True,
                # Address 0 on RS-485 is a broadcast: every unit executes the write, none answers.
                broadcast_enable=True,
                trace_packet=self._trace_packet,
                custom_pdu=REQUESTS,
                baudrate=self.baudrate,
                parity=self.parity,
                stopbits=self.stopbits,
            )
        self._server.context = self.store
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError:  # pymodbus logs the OSError and raises this instead
            if self.transport == "tcp":
                raise bind_error("tcp", self.host, self.port) from None
            raise Unreachable(f"modbus emulator cannot open serial port {device_side}") from None
        await asyncio.sleep(0)  # let pymodbus' call_soon(setup) run, so an early stop() is safe

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                await server.shutdown()
        pty, self._pty = self._pty, None
        if pty is not None:
            await pty.stop()

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending or len(data) < 2:
            return data
        unit_id = data[6] if self.transport == "tcp" and len(data) > 6 else data[0]
        return garbage_bytes() if self.store.garbles(unit_id) else data

    def _disconnect_all(self) -> None:
        server = self._server
        if server is None or self.transport != "tcp":
            return
        for connection in list(server.active_connections.values()):
            connection.close()


def from_config(config: ModbusConfig) -> ModbusEmulator:
    """An emulator listening where `config` points: its host/port, or a pty at its serial_port."""
    units = [UnitStore(u.unit_id, u.name, u.resolved_points) for u in config.units]
    if config.transport == "tcp":
        return ModbusEmulator(units, host=config.host or "127.0.0.1", port=config.port)
    return ModbusEmulator(
        units,
        transport="rtu",
        link_path=config.serial_port,
        baudrate=config.baudrate,
        parity=config.parity,
        stopbits=config.stopbits,
    )
