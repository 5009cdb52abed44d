"""A kiosk on the wire: aiohttp server with /health, a heartbeat WebSocket, command endpoints,
and a UDP Wake-on-LAN listener.

`power off` really stops the HTTP listener (a kiosk that is off refuses connections); a magic
packet for its MAC on the WoL port starts it again. Faults apply to every HTTP request:
delay, silent (the request hangs), garbage body, error (HTTP 500), disconnect (socket closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from ..sdk import AuthFailed, DriverError, ProtocolError, read_secret_file
from ..sdk.faults import FaultAction, Faults, garbage_bytes
from ..sdk.listen import bind_error, open_udp
from .codec import format_mac, parse_mac, parse_wol
from .config import KioskConfig


class _WolProtocol(asyncio.DatagramProtocol):
    def __init__(self, emulator: KioskEmulator) -> None:
        self._emu = emulator

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            mac = parse_wol(data)
        except ProtocolError:
            self._emu.bad_wol_packets += 1
            return
        self._emu.wol_received.append(format_mac(mac))
        if mac == self._emu.mac and self._emu.state["power"] != "on":
            self._emu.power_task = asyncio.create_task(
                self._emu.power_on(), name="kiosk-emulator.wake"
            )


class KioskEmulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        mac: str = "02:00:00:00:00:01",
        wol_port: int | None = None,
        heartbeat_interval_s: float = 0.1,
    ) -> None:
        self.host, self.port, self.token = host, port, token
        self.mac = parse_mac(mac)
        self.wol_port = wol_port
        self.heartbeat_interval_s = heartbeat_interval_s
        self.faults = Faults()
        self.heartbeats_paused = False
        self.state: dict[str, Any] = {
            "power": "on", "status": "ok", "version": "4.2.0", "model": "EA-Kiosk 15",
            "scene": "idle", "printer": "ok",
        }  # fmt: skip
        self.requests: list[tuple[str, str, Any]] = []
        self.wol_received: list[str] = []
        self.bad_wol_packets = 0
        self.power_task: asyncio.Task[None] | None = None
        self._booted = time.monotonic()
        self._runner: Any = None
        self._site: Any = None
        self._udp: asyncio.DatagramTransport | None = None
        self._sockets: set[Any] = set()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Serve HTTP (and WoL on UDP); PortInUse names whichever port is taken."""
        try:
            await self._start()
        except BaseException:  # the HTTP side must not outlive a WoL port that was taken
            await self.stop()
            raise

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/health", self._health)
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/power/off", self._power_off)
        app.router.add_post("/scene", self._scene)
        app.router.add_post("/app/restart", self._restart)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()
        if self.wol_port is not None:
            self._udp = await open_udp(lambda: _WolProtocol(self), self.host, self.wol_port)

    async def _listen(self) -> None:
        from aiohttp import web

        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise bind_error("tcp", self.host, self.port, exc) from None
        self._site = site
        if self.port == 0:
            self.port = self._site._server.sockets[0].getsockname()[1]

    async def power_off(self) -> None:
        """Stop answering HTTP, as a kiosk PC that shut down."""
        self.state["power"] = "off"
        for ws in list(self._sockets):
            await ws.close()
        if self._site is not None:
            await self._site.stop()
            self._site = None
        for conn in list(getattr(self._runner.server, "connections", [])):
            conn.force_close()  # a PC that is off keeps no keep-alive connections either

    async def power_on(self) -> None:
        if self._site is None:
            await self._listen()
        self._booted = time.monotonic()
        self.state["power"] = "on"

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        task, self.power_task = self.power_task, None
        if task is not None:
            with contextlib.suppress(DriverError):  # a wake-up that found its port taken
                await task
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._site = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def describe(self) -> str:
        wol = f", Wake-on-LAN on udp/{self.wol_port}" if self.wol_port else ""
        return f"kiosk {self.state['model']} at {self.base_url}{wol}, MAC {format_mac(self.mac)}"

    # --- HTTP ----------------------------------------------------------------------------

    def _authorized(self, request: Any) -> bool:
        return self.token is None or request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _middleware_impl(self, request: Any, handler: Any) -> Any:
        from aiohttp import web

        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        action = await self.faults.next_action()
        if action is FaultAction.DROP:
            await asyncio.Event().wait()  # hang until the client gives up or we stop
        if action is FaultAction.CLOSE:
            request.transport.close()
            return web.Response(status=500)  # never reaches the client: the socket is gone
        if action is FaultAction.GARBAGE:
            return web.Response(body=garbage_bytes(24), content_type="application/json")
        if action is FaultAction.ERROR:
            body = {"error": self.faults.error_code}
            return web.json_response(body, status=500)
        return await handler(request)

    @property
    def _middleware(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def middleware(request: Any, handler: Any) -> Any:
            return await self._middleware_impl(request, handler)

        return middleware

    def _health_body(self) -> dict[str, Any]:
        return {**self.state, "uptime_s": round(time.monotonic() - self._booted, 1)}

    async def _health(self, request: Any) -> Any:
        from aiohttp import web

        self.requests.append(("GET", "/health", None))
        return web.json_response(self._health_body())

    async def _ws(self, request: Any) -> Any:
        from aiohttp import web

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        pusher = asyncio.create_task(self._push_heartbeats(ws), name="kiosk-emulator.heartbeats")
        try:
            async for _msg in ws:  # reading is what answers the client's close frame
                pass
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            self._sockets.discard(ws)
        return ws

    async def _push_heartbeats(self, ws: Any) -> None:
        with contextlib.suppress(ConnectionError):
            while not ws.closed:
                if not self.heartbeats_paused:
                    await ws.send_str(json.dumps({"type": "heartbeat", **self._health_body()}))
                await asyncio.sleep(self.heartbeat_interval_s)

    async def _json(self, request: Any) -> dict[str, Any]:
        from aiohttp import web

        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise web.HTTPBadRequest(text='{"error": "body is not JSON"}') from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"error": "body must be an object"}')
        return body

    async def _power_off(self, request: Any) -> Any:
        from aiohttp import web

        self.requests.append(("POST", "/power/off", await self._json(request)))
        self.power_task = asyncio.create_task(self._later_off(), name="kiosk-emulator.off")
        return web.json_response({"power": "shutting_down"})

    async def _later_off(self) -> None:
        await asyncio.sleep(0.05)  # let the answer leave before the listener goes away
        await self.power_off()

    async def _scene(self, request: Any) -> Any:
        from aiohttp import web

        body = await self._json(request)
        self.requests.append(("POST", "/scene", body))
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise web.HTTPUnprocessableEntity(text='{"error": "scene needs a name"}')
        self.state["scene"] = name
        return web.json_response({"scene": name})

    async def _restart(self, request: Any) -> Any:
        from aiohttp import web

        self.requests.append(("POST", "/app/restart", await self._json(request)))
        self._booted = time.monotonic()
        return web.json_response({"restarted": True})


def from_config(config: KioskConfig) -> KioskEmulator:
    """An emulated kiosk listening where `config.base_url` points, waking on `config.wol_port`."""
    host, port = config.host_port
    token = None
    if config.token_file is not None:
        with contextlib.suppress(AuthFailed):  # unreadable: the emulated kiosk asks for none
            token = read_secret_file(config.token_file)
    return KioskEmulator(
        host, port, token=token, mac=config.mac or "02:00:00:00:00:01", wol_port=config.wol_port
    )
