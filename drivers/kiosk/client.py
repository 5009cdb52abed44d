"""HTTP and WebSocket access to a kiosk's health API, plus the Wake-on-LAN sender.

aiohttp is imported inside functions so a config without kiosks never loads it. Every transport
failure leaves here as a typed driver error with the reason a field engineer can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

from ..sdk import (
    AuthFailed,
    DeviceReportedError,
    DeviceTimeout,
    DriverError,
    InvalidArgument,
    Logger,
    ProtocolError,
    Unreachable,
    Unsupported,
)
from .codec import build_wol, parse_heartbeat


def _status_error(status: int, method: str, path: str, text: str) -> DriverError:
    where = f"{method} {path} -> HTTP {status}"
    if status in (401, 403):
        return AuthFailed(f"{where}: the kiosk refused our token; check token_file")
    if status == 404:
        return Unsupported(f"{where}: this kiosk has no such endpoint")
    if status in (400, 422):
        return InvalidArgument(f"{where}: {text[:120]}")
    return DeviceReportedError(f"{where}: {text[:120]}")


def _transport_error(exc: BaseException, url: str) -> DriverError:
    import aiohttp

    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, TimeoutError):
        return DeviceTimeout(f"no answer from {url} in time")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Unreachable(f"cannot connect to {url}: {exc.os_error.strerror or exc}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return _status_error(exc.status, "GET", url, exc.message)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ProtocolError(f"{url} sent a broken HTTP body: {exc}")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, OSError)):
        return Unreachable(f"{url} closed the connection: {exc}")
    if isinstance(exc, aiohttp.ClientError):
        return ProtocolError(f"{url} broke the HTTP protocol: {exc}")
    return DeviceReportedError(f"unexpected failure talking to {url}: {type(exc).__name__}")


class KioskHttp:
    """One aiohttp session to one kiosk. `request` retries transport failures, not HTTP errors."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout_s: float,
        retries: int,
        log: Logger | None = None,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self.timeout_s = timeout_s
        self._retries = retries
        self._log = log
        self._session: Any = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def session(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers())
        return self._session

    async def request(self, method: str, path: str, body: Any = None) -> bytes:
        """Send one request; return the body of a 2xx answer or raise the typed error."""
        session = await self.session()
        url = self.base_url + path
        last: DriverError = DeviceTimeout(f"no answer from {url}")
        for attempt in range(1, self._retries + 2):
            try:
                async with asyncio.timeout(self.timeout_s):
                    async with session.request(method, url, json=body) as resp:
                        status, data = resp.status, await resp.read()
            except Exception as exc:  # noqa: BLE001 - aiohttp/OS errors mapped to a typed DriverError
                last = _transport_error(exc, url)
                if self._log is not None and attempt <= self._retries:  # the last: the caller's
                    self._log.info(
                        "kiosk_request_retry",
                        method=method,
                        path=path,
                        attempt=attempt,
                        reason=last.reason.value,
                        error=last.message,
                    )
                continue
            if status >= 300:  # the kiosk answered: asking again will not change its mind
                raise _status_error(status, method, path, data.decode(errors="replace"))
            return bytes(data)
        raise last

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class HeartbeatWatcher:
    """Keeps a WebSocket open and records the latest heartbeat; reconnects when it drops."""

    def __init__(
        self,
        http: KioskHttp,
        path: str,
        *,
        state_key: str | None,
        clock: Callable[[], float],
        log: Logger,
    ) -> None:
        self._http = http
        self._path = path
        self._state_key = state_key
        self._clock = clock
        self._log = log
        self.last_at: float | None = None
        self.last_state: dict[str, Any] = {}
        self.bad_messages = 0

    async def connect(self) -> Any:
        """Open the socket; AuthFailed / Unreachable / DeviceTimeout when the handshake fails."""
        import aiohttp

        session = await self._http.session()
        url = self._http.base_url + self._path
        try:
            async with asyncio.timeout(self._http.timeout_s):
                return await session.ws_connect(url, heartbeat=None)
        except aiohttp.WSServerHandshakeError as exc:
            raise _status_error(exc.status, "GET", self._path, "websocket refused") from None
        except Exception as exc:  # noqa: BLE001 - mapped to a typed DriverError
            raise _transport_error(exc, url) from None

    async def run(self, ws: Any) -> None:
        """Read heartbeats forever, reconnecting with a short backoff after a drop."""
        import aiohttp

        backoff = 0.5
        while True:
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    try:
                        self.last_state = parse_heartbeat(msg.data, self._state_key)
                    except ProtocolError as exc:
                        self.bad_messages += 1
                        self._log.warning("kiosk_heartbeat_invalid", error=exc.message)
                        continue
                    self.last_at = self._clock()
                    backoff = 0.5
            finally:
                await ws.close()
            self._log.info("kiosk_websocket_closed", path=self._path)
            while True:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                try:
                    ws = await self.connect()
                    break
                except DriverError as exc:
                    self._log.warning("kiosk_websocket_reconnect_failed", reason=exc.reason.value)


def send_wol(mac: bytes, broadcast: str, port: int) -> None:
    """Send the magic packet for `mac` as one UDP datagram. OSError -> Unreachable."""
    packet = build_wol(mac)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.sendto(packet, (broadcast, port))
    except OSError as exc:
        raise Unreachable(
            f"cannot send Wake-on-LAN to {broadcast}:{port}: {exc.strerror}"
        ) from None


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait for it, swallowing only its cancellation."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
